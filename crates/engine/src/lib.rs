//! engine (work in progress).
