//! Hot reload: one engine shared by many deciding threads while new policy versions load.
//!
//! A [`SharedEngine`] holds the current [`Snapshot`] (a compiled [`Engine`] and its version id)
//! behind an [`arc_swap::ArcSwap`]: a decision takes the current snapshot with one atomic load
//! and decides wholly against it, so it never mixes two versions, and a reload swaps the
//! pointer without blocking any decision. A new version that fails to load is refused with its
//! diagnostics and the current one keeps serving (as OPA keeps its last good bundle), so a bad
//! push can never leave a proxy without policy or open.

use std::hash::Hasher;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::{Decision, Diagnostics, Engine, PolicySet, PolicySetBuilder, Request};

/// One compiled policy version.
#[derive(Debug)]
pub struct Snapshot {
    version: Box<str>,
    engine: Engine,
}

impl Snapshot {
    /// Compiles `set` as a version identified by [`fingerprint`] of its sources.
    pub fn new(set: &PolicySet) -> Snapshot {
        Snapshot {
            version: fingerprint(set).into(),
            engine: Engine::new(set),
        }
    }

    /// The version's id: a hash of the names and texts of its sources (so the same policy
    /// always has the same id, on every proxy), for decision logs and audit trails.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The compiled engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Decides against this version.
    pub fn decide<'s>(&'s self, request: &Request<'_>) -> Decision<'s> {
        self.engine.decide(request)
    }
}

/// An engine that many threads decide against while new versions are loaded. See the module
/// docs.
#[derive(Debug)]
pub struct SharedEngine {
    current: ArcSwap<Snapshot>,
}

impl SharedEngine {
    /// Starts serving `set`.
    pub fn new(set: &PolicySet) -> SharedEngine {
        SharedEngine {
            current: ArcSwap::from_pointee(Snapshot::new(set)),
        }
    }

    /// The current version. Hold it for as long as one decision (or a batch that must agree)
    /// needs it; a reload meanwhile does not affect it.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// The id of the version serving now.
    pub fn version(&self) -> String {
        self.current.load().version().to_string()
    }

    /// Decides against the current version and calls `f` with that version's id and the
    /// decision (which borrows the version, so it cannot outlive the call).
    pub fn decide<T>(&self, request: &Request<'_>, f: impl FnOnce(&str, &Decision<'_>) -> T) -> T {
        let snapshot = self.current.load();
        let decision = snapshot.decide(request);
        f(snapshot.version(), &decision)
    }

    /// Serves `set` from now on; returns its version id.
    pub fn replace(&self, set: &PolicySet) -> String {
        let next = Snapshot::new(set);
        let version = next.version().to_string();
        self.current.store(Arc::new(next));
        version
    }

    /// Builds a new version from `builder` and serves it, returning its version id; when it
    /// does not load, returns every diagnostic and the current version keeps serving.
    pub fn reload(&self, builder: &PolicySetBuilder) -> Result<String, Diagnostics> {
        let set = builder.build()?;
        Ok(self.replace(&set))
    }
}

/// A stable 128-bit hash (SipHash-1-3 with fixed keys, in hex) of the names and texts of a
/// policy set's sources, in order.
pub fn fingerprint(set: &PolicySet) -> String {
    let mut h = siphasher::sip128::SipHasher13::new();
    for file in set.files() {
        // Lengths first, so that no two different sequences of sources hash the same input.
        h.write_u64(file.name().len() as u64);
        h.write(file.name().as_bytes());
        h.write_u64(file.text().len() as u64);
        h.write(file.text().as_bytes());
    }
    format!(
        "{:032x}",
        siphasher::sip128::Hasher128::finish128(&h).as_u128()
    )
}
