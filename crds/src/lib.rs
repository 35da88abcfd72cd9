//! Berth's custom resources.
