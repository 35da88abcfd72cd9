//! Paths inside the pod, mapped to the temporary directories that stand in for them.

use std::path::{Path, PathBuf};

/// Mount paths and the local directories (or files) mounted there.
#[derive(Clone, Debug, Default)]
pub struct PathMap {
    /// Longest mount path first, so `/etc/berth/tls` wins over `/etc/berth`.
    mounts: Vec<(String, PathBuf)>,
}

impl PathMap {
    /// Records that `pod_path` is backed by `local`.
    pub fn insert(&mut self, pod_path: &str, local: PathBuf) {
        let pod_path = match pod_path.trim_end_matches('/') {
            "" => "/",
            trimmed => trimmed,
        };
        self.mounts.retain(|(existing, _)| existing != pod_path);
        self.mounts.push((pod_path.to_owned(), local));
        self.mounts
            .sort_by_key(|(path, _)| std::cmp::Reverse(path.len()));
    }

    /// Whether something is mounted at exactly `pod_path`.
    pub fn contains(&self, pod_path: &str) -> bool {
        let pod_path = pod_path.trim_end_matches('/');
        self.mounts.iter().any(|(path, _)| path == pod_path)
    }

    /// The local path for `pod_path` if it lies under a mount.
    pub fn resolve(&self, pod_path: &str) -> Option<PathBuf> {
        self.mounts.iter().find_map(|(mount, local)| {
            let rest = pod_path.strip_prefix(mount.as_str())?;
            if rest.is_empty() {
                Some(local.clone())
            } else {
                rest.strip_prefix('/').map(|rest| local.join(rest))
            }
        })
    }

    /// `text` with every mount path that appears in it as a whole path (`--config=/etc/x/a`,
    /// `/etc/x:/other`) replaced by its local path; `/etc/xy` and `/opt/etc/x` are left alone.
    pub fn rewrite(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        let mut previous: Option<char> = None;
        'scan: while let Some(c) = rest.chars().next() {
            if !previous.is_some_and(is_path_char) {
                for (mount, local) in &self.mounts {
                    let Some(after) = rest.strip_prefix(mount.as_str()) else {
                        continue;
                    };
                    if after
                        .chars()
                        .next()
                        .is_none_or(|next| next == '/' || !is_path_char(next))
                    {
                        out.push_str(&local.to_string_lossy());
                        previous = mount.chars().last();
                        rest = after;
                        continue 'scan;
                    }
                }
            }
            out.push(c);
            previous = Some(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }

    /// Every mount, longest path first.
    pub fn mounts(&self) -> impl Iterator<Item = (&str, &Path)> {
        self.mounts
            .iter()
            .map(|(pod, local)| (pod.as_str(), local.as_path()))
    }
}

/// Characters that continue a path, so a mount path followed or preceded by one is part
/// of a different path.
fn is_path_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '~' | '+')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> PathMap {
        let mut map = PathMap::default();
        map.insert("/etc/berth", "/tmp/v/config".into());
        map.insert("/etc/berth/tls/", "/tmp/v/tls".into());
        map.insert("/data", "/tmp/v/data".into());
        map
    }

    #[test]
    fn rewrites_whole_paths_only() {
        let map = map();
        assert_eq!(
            map.rewrite("--config=/etc/berth/a.yaml"),
            "--config=/tmp/v/config/a.yaml"
        );
        assert_eq!(map.rewrite("/etc/berth/tls/tls.crt"), "/tmp/v/tls/tls.crt");
        assert_eq!(map.rewrite("/data:/etc/berth"), "/tmp/v/data:/tmp/v/config");
        assert_eq!(
            map.rewrite("cat /data/x; ls /data"),
            "cat /tmp/v/data/x; ls /tmp/v/data"
        );
        assert_eq!(
            map.rewrite("/data2 /opt/data /etc/berthx"),
            "/data2 /opt/data /etc/berthx"
        );
        assert_eq!(map.rewrite("plain"), "plain");
    }

    #[test]
    fn resolves_paths_under_mounts() {
        let map = map();
        assert_eq!(
            map.resolve("/etc/berth/tls/ca.crt"),
            Some("/tmp/v/tls/ca.crt".into())
        );
        assert_eq!(map.resolve("/etc/berth"), Some("/tmp/v/config".into()));
        assert_eq!(map.resolve("/etc/berthx"), None);
        assert!(map.contains("/etc/berth/tls"));
    }
}
