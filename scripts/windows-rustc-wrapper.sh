#!/bin/sh
# rustc wrapper of scripts/check-windows.sh: Debian's Rust 1.85 knows `let` chains (stable since 1.88) only as
# an unstable feature, and dependencies that need Rust 1.95 (projectx-client 8, parking_lot_core 0.10,
# criterion 0.8, ...) use a few library APIs stabilised after 1.85; RUSTC_BOOTSTRAP lets us switch those
# features on, for every crate but the standard library itself.
case "$*" in
  */rustlib/src/*) exec "$@" ;;
  *) exec "$@" '-Zcrate-attr=feature(let_chains)' '-Zcrate-attr=feature(ptr_as_ref_unchecked)' '-Zcrate-attr=feature(unsigned_is_multiple_of)' '-Zcrate-attr=feature(slice_as_chunks)' \
    '-Zcrate-attr=feature(strict_provenance_atomic_ptr)' '-Zcrate-attr=feature(duration_constructors)' \
    '-Zcrate-attr=feature(float_next_up_down)' ;;
esac
