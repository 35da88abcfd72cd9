//! Retention: a package's `spec.retention` rules, run at each garbage collection.
//!
//! Which versions go is a pure choice ([`Rules::choose`]). Each chosen version is then
//! deleted through the API's own path (`delete_version` with GitHub's rules: never the
//! last tagged version nor a platform of a tagged index), so it is restorable for the
//! window, under a tombstone and verdict like a collection's (`content::collect`): a
//! push that tags the version meanwhile either wins it (`kept`, and retention leaves it)
//! or waits for the deletion and links it again, never a 201 that the deletion undoes.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use berth_crds::package::{Retention, RetentionStatus};
use bytes::Bytes;
use regex::Regex;

use super::Packages;
use super::versions::{Page, Rules as DeleteRules, State, Version};
use crate::content::collect::{DELETING, Tombstone};
use crate::content::{Error, Result, keys};
use crate::oci::digest::Digest;
use crate::oci::manifest::Manifest;
use crate::oci::reference::{Reference, RepoName};

/// How many deleted digests a status lists.
const STATUS_LIST: usize = 100;
const DAY: Duration = Duration::from_secs(86_400);

/// `spec.retention`, checked and compiled.
#[derive(Debug)]
pub struct Rules {
    untagged_older_than: Option<Duration>,
    keep_latest: usize,
    tags: Option<TagRules>,
    pub dry_run: bool,
}

#[derive(Debug)]
struct TagRules {
    keep: Vec<Regex>,
    keep_latest: Option<usize>,
    younger_than: Option<Duration>,
}

/// A version as retention judges it.
#[derive(Clone, Debug)]
pub struct Judged {
    pub id: u64,
    pub digest: String,
    /// Its last push.
    pub updated: jiff::Timestamp,
    pub tags: Vec<String>,
    /// Reachable from a tag: tagged, a platform of a tagged index, or a referrer of one.
    pub reachable: bool,
}

impl Rules {
    /// Compiles `spec`; the error names the field and what is wrong with it.
    pub fn compile(spec: &Retention) -> std::result::Result<Rules, String> {
        let tags = match &spec.tags {
            None => None,
            Some(t) => Some(TagRules {
                keep: t
                    .keep
                    .iter()
                    .map(|p| {
                        Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                            format!(
                                "spec.retention.tags.keep: {p:?} is not a regular expression: {e}"
                            )
                        })
                    })
                    .collect::<std::result::Result<_, _>>()?,
                keep_latest: t.keep_latest.map(|n| n as usize),
                younger_than: t.older_than_days.map(|d| DAY * d),
            }),
        };
        Ok(Rules {
            untagged_older_than: spec.untagged_older_than_days.map(|d| DAY * d),
            keep_latest: spec.keep_latest.unwrap_or(0) as usize,
            tags,
            dry_run: spec.dry_run.unwrap_or(false),
        })
    }

    /// The ids of the versions these rules delete at `now`, newest first.
    pub fn choose(&self, versions: &[Judged], now: jiff::Timestamp) -> Vec<u64> {
        let mut newest: Vec<&Judged> = versions.iter().collect();
        newest.sort_by(|a, b| b.updated.cmp(&a.updated).then(b.id.cmp(&a.id)));
        let age =
            |v: &Judged| Duration::try_from(now.duration_since(v.updated)).unwrap_or_default();
        let deletable_tags = self.deletable_tags(&newest, &age);
        newest
            .iter()
            .skip(self.keep_latest)
            .filter(|v| {
                if v.tags.is_empty() {
                    !v.reachable && self.untagged_older_than.is_some_and(|d| age(v) > d)
                } else {
                    v.tags.iter().all(|t| deletable_tags.contains(t.as_str()))
                }
            })
            .map(|v| v.id)
            .collect()
    }

    /// The tags the tag rules let go, of `newest` (newest first).
    fn deletable_tags<'a>(
        &self,
        newest: &[&'a Judged],
        age: &impl Fn(&Judged) -> Duration,
    ) -> HashSet<&'a str> {
        let Some(rules) = &self.tags else {
            return HashSet::new();
        };
        if rules.keep_latest.is_none() && rules.younger_than.is_none() {
            return HashSet::new();
        }
        let others = newest.iter().flat_map(|v| {
            v.tags
                .iter()
                .filter(|t| !rules.keep.iter().any(|k| k.is_match(t)))
                .map(move |t| (t.as_str(), *v))
        });
        others
            .enumerate()
            .filter(|(rank, (_, v))| {
                let by_count = rules.keep_latest.is_some_and(|n| *rank < n);
                let by_age = rules.younger_than.is_some_and(|d| age(v) <= d);
                !by_count && !by_age
            })
            .map(|(_, (t, _))| t)
            .collect()
    }
}

impl Packages<'_> {
    /// Runs `rules` on `repo`'s package at `now`; the status reported, or `None` when
    /// nothing was pushed to it yet.
    pub async fn apply_retention(
        &self,
        repo: &RepoName,
        rules: &Rules,
        now: jiff::Timestamp,
    ) -> Result<Option<RetentionStatus>> {
        if super::PackageRecord::load(self.content, repo)
            .await?
            .is_none()
        {
            return Ok(None);
        }
        let pkg = self.record_of(repo).await?.id;
        let page = Page {
            number: 1,
            per_page: usize::MAX,
        };
        let (versions, _) = self.versions(repo, pkg, State::Active, page).await?;
        let judged = self.judge(repo, &versions).await?;
        let chosen = rules.choose(&judged, now);
        let judged: BTreeMap<u64, Judged> = judged.into_iter().map(|v| (v.id, v)).collect();
        let mut deleted = Vec::new();
        for id in chosen {
            let Judged { digest, tags, .. } = &judged[&id];
            if rules.dry_run {
                deleted.push(digest.clone());
                continue;
            }
            match self.retire(repo, pkg, id, digest, tags).await {
                Ok(true) => {
                    tracing::info!(package = %repo, version = id, %digest, "retention deleted the version (restorable for the restore window)");
                    deleted.push(digest.clone());
                }
                Ok(false) => {}
                // GitHub's rules keep it (the last tagged version, a tagged index's platform).
                Err(Error::Refused(why)) => {
                    tracing::info!(package = %repo, version = id, %why, "retention keeps the version")
                }
                Err(Error::VersionUnknown) => {} // deleted meanwhile
                Err(e) => return Err(e),
            }
        }
        let status = RetentionStatus {
            last_run: Some(now.to_string()),
            dry_run: rules.dry_run,
            deleted_count: deleted.len() as u64,
            deleted: deleted.into_iter().take(STATUS_LIST).collect(),
        };
        if let Some(sink) = self.status {
            sink.retention_ran(repo, &status).await;
        }
        Ok(Some(status))
    }

    /// `versions` with what retention needs: ages, and what a tag reaches.
    async fn judge(&self, repo: &RepoName, versions: &[Version]) -> Result<Vec<Judged>> {
        let mut reachable: HashSet<String> = HashSet::new();
        let mut pending: Vec<String> = versions
            .iter()
            .filter(|v| !v.tags.is_empty())
            .map(|v| v.record.digest.clone())
            .collect();
        while let Some(digest) = pending.pop() {
            if !reachable.insert(digest.clone()) {
                continue;
            }
            let Ok(d) = digest.parse::<Digest>() else {
                continue;
            };
            if let Ok(m) = self
                .content
                .manifest_get(repo, &Reference::Digest(d.clone()))
                .await
                && let Ok(parsed) = Manifest::parse(Some(&m.media_type), &m.bytes)
            {
                pending.extend(parsed.manifests.iter().map(|c| c.digest.to_string()));
            }
            for referrer in self.content.referrers(repo, &d, None).await? {
                pending.push(referrer.digest.to_string());
            }
        }
        Ok(versions
            .iter()
            .map(|v| Judged {
                id: v.record.id,
                digest: v.record.digest.clone(),
                updated: v
                    .record
                    .updated_at
                    .parse()
                    .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
                tags: v.tags.clone(),
                reachable: reachable.contains(&v.record.digest),
            })
            .collect())
    }

    /// Deletes version `id` (manifest `digest`, judged with `tags`) under retention's
    /// tombstone; `false` when a push claimed it first or its tags changed since.
    async fn retire(
        &self,
        repo: &RepoName,
        pkg: u64,
        id: u64,
        digest: &str,
        tags: &[String],
    ) -> Result<bool> {
        let d: Digest = digest
            .parse()
            .map_err(|_| crate::content::error::corrupt(format!("version {id} has no digest")))?;
        let storage = self.content.storage();
        let run = uuid::Uuid::new_v4().simple().to_string();
        let marker_key = keys::gc_ref(&d);
        let marker = |raw: Option<Bytes>| raw.map(|b| String::from_utf8_lossy(&b).into_owned());
        let tombstone = Tombstone {
            run: run.clone(),
            blob: false,
            links: Vec::new(),
            marker: marker(storage.get(&marker_key).await?),
        };
        let key = keys::retention_tombstone(repo, &d);
        let json = serde_json::to_vec(&tombstone).expect("a tombstone serializes");
        if !storage.put_if_absent(&key, Bytes::from(json)).await? {
            return Ok(false); // another run's; it decides
        }
        let verdict = keys::retention_verdict(repo, &d, &run);
        let unchanged = marker(storage.get(&marker_key).await?) == tombstone.marker;
        let won = unchanged
            && storage
                .put_if_absent(&verdict, Bytes::from_static(DELETING))
                .await?;
        // A push that finished between the choice and the tombstone is seen here.
        let same_tags = || async {
            let mut now: Vec<String> = self
                .content
                .tags_pointing_at(repo, &d)
                .await?
                .iter()
                .map(ToString::to_string)
                .collect();
            now.sort();
            let mut then = tags.to_vec();
            then.sort();
            Ok::<_, Error>(now == then)
        };
        let result = if won && same_tags().await? {
            self.delete_version(repo, pkg, id, DeleteRules::Packages)
                .await
                .map(|()| true)
        } else {
            Ok(false)
        };
        // Tombstone first: a push waiting on it then finds the version deleted.
        storage.delete(&key).await?;
        storage.delete(&verdict).await?;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: u64, days_ago: i64, tags: &[&str], reachable: bool) -> Judged {
        let now: jiff::Timestamp = "2026-12-02T00:00:00Z".parse().unwrap();
        Judged {
            id,
            digest: format!("sha256:{id:064x}"),
            updated: now - jiff::SignedDuration::from_hours(24 * days_ago),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            reachable: reachable || !tags.is_empty(),
        }
    }

    fn rules(yaml: &str) -> Rules {
        Rules::compile(&serde_saphyr::from_str(yaml).unwrap()).unwrap()
    }

    fn choose(r: &Rules, versions: &[Judged]) -> Vec<u64> {
        r.choose(versions, "2026-12-02T00:00:00Z".parse().unwrap())
    }

    #[test]
    fn old_untagged_versions_go_unless_a_tag_reaches_them_or_they_are_newest() {
        let vs = [
            version(1, 30, &[], false),
            version(2, 30, &[], true), // a platform of a tagged index
            version(3, 1, &[], false),
            version(4, 40, &["v1"], false),
            version(5, 20, &[], false),
        ];
        assert_eq!(choose(&rules("untaggedOlderThanDays: 7"), &vs), [5, 1]);
        // The newest three (3, 5, then 2 of the two pushed 30 days ago: the later id)
        // stay whatever the rules say.
        assert_eq!(
            choose(&rules("{untaggedOlderThanDays: 7, keepLatest: 3}"), &vs),
            [1]
        );
        assert!(
            choose(&rules("{}"), &vs).is_empty(),
            "no rules, nothing goes"
        );
    }

    #[test]
    fn tags_go_past_their_count_or_age_unless_a_pattern_keeps_them() {
        let vs = [
            version(1, 1, &["pr-3"], false),
            version(2, 2, &["pr-2"], false),
            version(3, 30, &["pr-1"], false),
            version(4, 50, &["v1.0.0", "pr-0"], false),
            version(5, 60, &["latest"], false),
        ];
        let by_count = rules("tags: {keep: ['v[0-9]+\\.[0-9]+\\.[0-9]+', latest], keepLatest: 2}");
        assert_eq!(choose(&by_count, &vs), [3], "v1.0.0 keeps version 4");
        let by_age = rules("tags: {keep: [latest], olderThanDays: 14}");
        assert_eq!(choose(&by_age, &vs), [3, 4]);
        let either = rules("tags: {keepLatest: 1, olderThanDays: 14}");
        assert_eq!(choose(&either, &vs), [3, 4, 5]);
        assert!(
            choose(&rules("tags: {keep: [x]}"), &vs).is_empty(),
            "no count, no age"
        );
    }

    #[test]
    fn a_bad_pattern_is_named() {
        let spec: Retention = serde_saphyr::from_str("tags: {keep: ['v(']}").unwrap();
        let err = Rules::compile(&spec).unwrap_err();
        assert!(err.starts_with("spec.retention.tags.keep: \"v(\""), "{err}");
    }
}
