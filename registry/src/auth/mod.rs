//! Authentication: who a request is from.

pub mod identity;
