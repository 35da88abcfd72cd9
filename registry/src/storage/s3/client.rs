//! The S3 client for a set of settings, and what its failures mean to the registry.

use std::time::Duration;

use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::web_identity_token::WebIdentityTokenCredentialsProvider;
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Region, StalledStreamProtectionConfig};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use super::S3Settings;
use crate::storage::StorageError;

/// Connecting longer than this means the endpoint is unreachable (readiness and requests
/// then answer promptly instead of hanging).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Attempts per S3 call; throttling and 5xx answers are retried with backoff.
const MAX_ATTEMPTS: u32 = 3;

/// Reads `spec.storage.s3.caBundle`: PEM, at least one certificate. Checked here, at
/// start, so a wrong file is a clear error rather than a TLS failure at the first call.
pub fn read_ca_bundle(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    let pem = std::fs::read(path).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("reading spec.storage.s3.caBundle {}: {e}", path.display()),
        )
    })?;
    let text = String::from_utf8_lossy(&pem);
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "spec.storage.s3.caBundle {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            ),
        ));
    }
    Ok(pem)
}

/// Builds the client. Credentials come from `credentialsFile` when set, else from the
/// environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), the
/// shared credentials files (`AWS_SHARED_CREDENTIALS_FILE`, `~/.aws/credentials`), or a
/// web identity token (IRSA), in that order. Nothing is contacted until the first call.
pub fn build(settings: &S3Settings, ca_bundle: Option<Vec<u8>>) -> Client {
    let mut trust = tls::TrustStore::default();
    if let Some(pem) = ca_bundle {
        trust = trust.with_pem_certificate(pem);
    }
    let context = tls::TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("a TLS context with a trust store always builds");
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https();
    let region = Region::new(settings.region.clone());
    let provider_config = ProviderConfig::without_region()
        .with_http_client(http.clone())
        .with_region(Some(region.clone()));
    let mut config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(region)
        .http_client(http)
        .force_path_style(settings.path_style)
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .build(),
        )
        // The registry streams blobs to clients at their pace; a slow client must not
        // look like a stalled S3 download.
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled());
    config = match &settings.credentials_file {
        Some(file) => config.credentials_provider(
            ProfileFileCredentialsProvider::builder()
                .configure(&provider_config)
                .profile_files(
                    EnvConfigFiles::builder()
                        .with_file(EnvConfigFileKind::Credentials, file)
                        .build(),
                )
                .build(),
        ),
        None => config.credentials_provider(
            CredentialsProviderChain::first_try(
                "Environment",
                EnvironmentVariableCredentialsProvider::new(),
            )
            .or_else(
                "Profile",
                ProfileFileCredentialsProvider::builder()
                    .configure(&provider_config)
                    .build(),
            )
            .or_else(
                "WebIdentityToken",
                WebIdentityTokenCredentialsProvider::builder()
                    .configure(&provider_config)
                    .build(),
            ),
        ),
    };
    if let Some(endpoint) = &settings.endpoint {
        config = config.endpoint_url(endpoint);
    }
    Client::from_conf(config.build())
}

/// Where the bucket is, for messages: `bucket "b" at http://127.0.0.1:9000`.
pub fn describe(settings: &S3Settings) -> String {
    match &settings.endpoint {
        Some(e) => format!("bucket {:?} at {e}", settings.bucket),
        None => format!("bucket {:?} in {}", settings.bucket, settings.region),
    }
}

/// What went wrong with one S3 call, in the registry's terms.
pub fn classify<E, R>(err: SdkError<E, R>, bucket: &str, doing: &str) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + HttpStatus,
{
    let status = err.raw_response().map(HttpStatus::status);
    match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            return StorageError::Unavailable(format!(
                "cannot reach S3 {bucket} ({doing}): {}",
                root_cause(&err)
            ));
        }
        SdkError::ConstructionFailure(_) => {
            let cause = root_cause(&err);
            if cause.contains("credentials") || cause.contains("identity") {
                return StorageError::Unavailable(format!(
                    "no S3 credentials for {bucket}: set AWS_ACCESS_KEY_ID and \
                     AWS_SECRET_ACCESS_KEY, or storage.s3.credentialsFile ({cause})"
                ));
            }
        }
        _ => {}
    }
    let code = err.code().unwrap_or("").to_owned();
    let message = err.message().unwrap_or("").to_owned();
    let what = if code.is_empty() {
        format!("HTTP {}", status.unwrap_or_default())
    } else {
        format!("{code}: {message}")
    };
    match (code.as_str(), status) {
        (
            "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "AccessDenied"
            | "ExpiredToken"
            | "InvalidToken"
            | "InvalidSecurity",
            _,
        )
        | (_, Some(401 | 403)) => StorageError::Unavailable(format!(
            "S3 refused the credentials for {bucket} ({doing}): {what}"
        )),
        ("NoSuchBucket", _) => {
            StorageError::Unavailable(format!("{bucket} does not exist ({doing})"))
        }
        ("SlowDown" | "ServiceUnavailable" | "InternalError" | "RequestTimeout", _)
        | (_, Some(500..)) => {
            StorageError::Unavailable(format!("S3 {bucket} failed ({doing}): {what}"))
        }
        _ => StorageError::Io(std::io::Error::other(format!(
            "S3 {bucket}: {doing} failed: {what}"
        ))),
    }
}

/// The innermost error's text: "connection refused" rather than "dispatch failure".
fn root_cause(err: &dyn std::error::Error) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text = cause.to_string();
    if text.is_empty() {
        DisplayErrorContext(err).to_string()
    } else {
        text
    }
}

/// The status of a raw S3 response.
pub trait HttpStatus {
    fn status(&self) -> u16;
}

impl HttpStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
}

/// True when `err` is S3 saying the object (or upload) is not there.
pub fn is_not_found<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
    R: HttpStatus,
{
    matches!(err.code(), Some("NoSuchKey" | "NotFound" | "NoSuchUpload"))
        || err.raw_response().is_some_and(|r| r.status() == 404)
            && err.code() != Some("NoSuchBucket")
}

/// True when a conditional write found the key taken.
pub fn is_precondition_failed<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
    R: HttpStatus,
{
    err.code() == Some("PreconditionFailed")
        || err.raw_response().is_some_and(|r| r.status() == 412)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_cause_digs_to_the_innermost_error() {
        let inner = std::io::Error::other("connection refused");
        let outer = std::io::Error::other(Wrapped(inner));
        assert_eq!(root_cause(&outer), "connection refused");
    }

    #[derive(Debug)]
    struct Wrapped(std::io::Error);
    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("dispatch failure")
        }
    }
    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
}
