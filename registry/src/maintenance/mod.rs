//! Work on the whole store rather than on one request: `fsck` checks that what the
//! registry serves is all there (garbage collection builds on the same walk).

pub mod fsck;
pub mod gc;
pub mod walk;
