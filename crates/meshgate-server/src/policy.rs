//! Policy files: reading them as one set, and reloading them when they change while keeping the
//! last good version.
//!
//! The files are polled: every interval the server reads each configured file (and lists each
//! configured directory's `*.mgp` files) and compares names and texts with what it last tried.
//! Polling, not file-system notification, because the common ways of updating policy in
//! production replace files rather than write them: Kubernetes updates a mounted ConfigMap by
//! swapping a `..data` symlink, and editors and `mv` rename a new file over the old one. A
//! watch on the file misses those, a watch on the directory sees a burst of events to debounce,
//! and neither works on every file system (network and overlay mounts). Reading a few policy
//! files once a second costs microseconds, and comparing texts (not modification times) cannot
//! miss two writes within one timestamp tick.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use meshgate::{Diagnostic, PolicySet};

/// The named texts of a policy set, in load order.
pub type Sources = Vec<(String, String)>;

/// Reads the sources: each path is a policy file, or a directory whose `*.mgp` files are read
/// in name order. An unreadable path is an error naming it.
pub fn read_sources(paths: &[PathBuf]) -> Result<Sources, String> {
    let mut sources = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut files = Vec::new();
            let entries = std::fs::read_dir(path).map_err(|e| {
                format!("cannot read directory `{}`: {}", path.display(), reason(&e))
            })?;
            for entry in entries {
                let entry = entry.map_err(|e| {
                    format!("cannot read directory `{}`: {}", path.display(), reason(&e))
                })?;
                let file = entry.path();
                if file.extension().is_some_and(|x| x == "mgp") && file.is_file() {
                    files.push(file);
                }
            }
            files.sort();
            for file in files {
                sources.push(read_one(&file)?);
            }
        } else {
            sources.push(read_one(path)?);
        }
    }
    if sources.is_empty() {
        return Err("no policy file found (a directory holds `*.mgp` files)".to_string());
    }
    Ok(sources)
}

fn read_one(path: &Path) -> Result<(String, String), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {}", path.display(), reason(&e)))?;
    Ok((path.display().to_string(), text))
}

/// An I/O error in lower case, without the OS error number.
pub use meshgate::diagnostic::io_reason as reason;

/// Builds a policy set from sources; the error is every diagnostic rendered as text.
pub fn build(sources: &Sources) -> Result<PolicySet, String> {
    let mut builder = PolicySet::builder();
    for (name, text) in sources {
        builder.add_source(name.clone(), text.clone());
    }
    builder.build().map_err(|ds| render(&ds.0))
}

fn render(ds: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in ds {
        out.push_str(&d.render());
    }
    out
}

/// What a poll found.
#[derive(Debug)]
pub enum Poll {
    /// The sources are what was last tried.
    Unchanged,
    /// A new version loaded.
    Loaded(Arc<PolicySet>),
    /// The sources changed but do not load (or cannot be read): why.
    Failed(String),
}

/// Remembers what was last tried, so that a broken update is reported once, not every poll.
#[derive(Debug, Default)]
pub struct Watcher {
    last: Option<Result<Sources, String>>,
}

impl Watcher {
    /// Reads the sources and, when they differ from the last attempt, builds them.
    pub fn poll(&mut self, paths: &[PathBuf]) -> Poll {
        let read = read_sources(paths);
        if self.last.as_ref() == Some(&read) {
            return Poll::Unchanged;
        }
        let outcome = match &read {
            Ok(sources) => match build(sources) {
                Ok(set) => Poll::Loaded(Arc::new(set)),
                Err(e) => Poll::Failed(e),
            },
            Err(e) => Poll::Failed(e.clone()),
        };
        self.last = Some(read);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reloads_only_on_change_and_reports_a_broken_update_once() {
        let dir = std::env::temp_dir().join(format!("meshgate-server-poll-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.mgp");
        std::fs::write(&file, r#"allow "all" { to path "/**" }"#).unwrap();
        std::fs::write(dir.join("notes.txt"), "not policy").unwrap();
        let paths = vec![dir.clone()];
        let mut w = Watcher::default();
        assert!(matches!(w.poll(&paths), Poll::Loaded(set) if set.rules().len() == 1));
        assert!(matches!(w.poll(&paths), Poll::Unchanged));
        std::fs::write(&file, r#"allow "all" { to path "/**" "#).unwrap();
        match w.poll(&paths) {
            Poll::Failed(e) => assert!(e.contains("a.mgp"), "{e}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(w.poll(&paths), Poll::Unchanged));
        std::fs::write(dir.join("b.mgp"), r#"deny "x" { to path "/x" }"#).unwrap();
        std::fs::write(&file, r#"allow "all" { to path "/**" }"#).unwrap();
        assert!(matches!(w.poll(&paths), Poll::Loaded(set) if set.rules().len() == 2));
        std::fs::remove_dir_all(&dir).unwrap();
        match w.poll(&paths) {
            Poll::Failed(e) => assert!(
                e.starts_with("cannot read `") && !e.contains("os error"),
                "{e}"
            ),
            other => panic!("{other:?}"),
        }
    }

    /// Kubernetes updates a mounted ConfigMap by writing a new `..TIMESTAMP` directory and
    /// swapping the `..data` symlink that the visible files point through.
    #[cfg(unix)]
    #[test]
    fn a_configmap_symlink_swap_is_seen() {
        use std::os::unix::fs::symlink;
        let dir =
            std::env::temp_dir().join(format!("meshgate-server-configmap-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("..v1")).unwrap();
        std::fs::write(dir.join("..v1/p.mgp"), r#"allow "v1" { to path "/**" }"#).unwrap();
        symlink("..v1", dir.join("..data")).unwrap();
        symlink("..data/p.mgp", dir.join("p.mgp")).unwrap();
        let paths = vec![dir.clone()];
        let mut w = Watcher::default();
        assert!(matches!(w.poll(&paths), Poll::Loaded(set) if set.rule("v1").is_some()));
        std::fs::create_dir_all(dir.join("..v2")).unwrap();
        std::fs::write(dir.join("..v2/p.mgp"), r#"allow "v2" { to path "/**" }"#).unwrap();
        symlink("..v2", dir.join("..data.tmp")).unwrap();
        std::fs::rename(dir.join("..data.tmp"), dir.join("..data")).unwrap();
        std::fs::remove_dir_all(dir.join("..v1")).unwrap();
        assert!(matches!(w.poll(&paths), Poll::Loaded(set) if set.rule("v2").is_some()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
