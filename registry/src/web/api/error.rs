//! Errors as GitHub's REST API writes them: `{"message","documentation_url","status"}`,
//! with `status` a string, and GitHub's messages where it has them.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::content;
use crate::storage::StorageError;

/// Where GitHub's errors for these operations point.
const DOCS: &str = "https://docs.github.com/rest/packages/packages";

/// A REST API failure: a status and GitHub's message for it.
#[derive(Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// The failing operation's documentation, as GitHub points at it.
    pub documentation_url: Option<&'static str>,
    /// For a 429: how long until a retry can succeed.
    pub retry_after: Option<std::time::Duration>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            documentation_url: None,
            retry_after: None,
        }
    }

    /// The same error, naming the documentation of the operation that failed.
    pub fn documented(self, url: &'static str) -> ApiError {
        ApiError {
            documentation_url: Some(url),
            ..self
        }
    }

    /// A package that does not exist, or that the caller may not see: the same answer.
    pub fn package_not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "Package not found.")
    }

    pub fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "Not Found")
    }

    pub fn requires_authentication() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "Requires authentication")
    }

    pub fn bad_credentials() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "Bad credentials")
    }

    /// Too many failed sign-ins: GitHub's wording for it, with the wait.
    pub fn too_many_failures(wait: std::time::Duration) -> ApiError {
        ApiError {
            retry_after: Some(wait),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Maximum number of login attempts exceeded. Please try again later.",
            )
        }
    }
}

impl From<content::Error> for ApiError {
    fn from(e: content::Error) -> Self {
        use content::Error::*;
        match e {
            PackageUnknown | NameUnknown | NameInvalid(_) => ApiError::package_not_found(),
            VersionUnknown | ManifestUnknown => {
                ApiError::new(StatusCode::NOT_FOUND, "Package version not found.")
            }
            Refused(message) => ApiError::new(StatusCode::BAD_REQUEST, message),
            PaginationInvalid(message) => ApiError::new(StatusCode::BAD_REQUEST, message),
            Storage(StorageError::Unavailable(_)) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
            }
            e => {
                tracing::error!(error = %e, "REST API request failed");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Server Error")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "message": self.message,
            "documentation_url": self.documentation_url.unwrap_or(DOCS),
            "status": self.status.as_u16().to_string(),
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(wait) = self.retry_after {
            // GitHub's rate-limit headers, for the sign-in budget that ran out.
            let retry = crate::web::retry_after(wait);
            let reset = jiff::Timestamp::now().as_second() as u64 + wait.as_secs() + 1;
            let headers = response.headers_mut();
            headers.insert(axum::http::header::RETRY_AFTER, retry);
            headers.insert("x-ratelimit-remaining", 0.into());
            headers.insert("x-ratelimit-reset", reset.into());
            headers.insert(
                "x-ratelimit-resource",
                axum::http::HeaderValue::from_static("sign-in"),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_errors_become_githubs_statuses_and_messages() {
        let cases = [
            (content::Error::PackageUnknown, 404, "Package not found."),
            (
                content::Error::NameInvalid("x".into()),
                404,
                "Package not found.",
            ),
            (
                content::Error::VersionUnknown,
                404,
                "Package version not found.",
            ),
            (content::Error::Refused("no".into()), 400, "no"),
        ];
        for (e, status, message) in cases {
            let got = ApiError::from(e);
            assert_eq!(
                (got.status.as_u16(), got.message.as_str()),
                (status, message)
            );
        }
    }
}
