//! placeholder, see the issue
