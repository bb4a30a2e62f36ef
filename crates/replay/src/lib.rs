//! replay (work in progress).
