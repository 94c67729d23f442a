//! The decision engine. (Indexed compilation lands in its own module; until then it walks the
//! rules like the reference.)

use std::sync::Arc;

use crate::decision::Decision;
use crate::model::Rule;
use crate::request::Request;
use crate::PolicySet;

/// An immutable decision engine compiled from a [`PolicySet`]. `Send + Sync`: share one across
/// threads.
#[derive(Clone, Debug)]
pub struct Engine {
    rules: Arc<[Rule]>,
}

impl Engine {
    /// Compiles a policy set.
    pub fn new(set: &PolicySet) -> Engine {
        Engine { rules: set.rules().into() }
    }

    /// Decides a request.
    pub fn decide<'e>(&'e self, request: &Request<'_>) -> Decision<'e> {
        crate::eval::reference::decide(&self.rules, request)
    }
}
