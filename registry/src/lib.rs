//! Berth's registry server.
