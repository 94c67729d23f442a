//! Three-valued truth: a test on an absent attribute is neither true nor false.

/// True, false, or unknown (an attribute it depends on is absent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Truth {
    /// Holds.
    True,
    /// Does not hold.
    False,
    /// Cannot be told: an attribute is absent.
    Unknown,
}

impl Truth {
    /// `true` → True, `false` → False.
    pub fn from_bool(b: bool) -> Truth {
        if b { Truth::True } else { Truth::False }
    }

    /// Kleene negation: unknown stays unknown.
    #[must_use]
    pub fn negate(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }

    /// Whether this is `True`.
    pub fn is_true(self) -> bool {
        self == Truth::True
    }
}
