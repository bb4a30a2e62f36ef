#!/usr/bin/env bash
# Type-check the whole workspace for Windows (x86_64-pc-windows-gnu), `cfg(windows)` code included, on a
# Linux machine: Debian's Rust toolchain with its std sources builds std for the target (-Zbuild-std), and
# mingw supplies the C bits some build scripts probe for.
#
# Debian's toolchain (1.85) is older than the pinned one (1.95), so the check runs on a scratch copy of the
# workspace (target/windows/ws) whose rust-version is lowered to Debian's and whose lockfile is re-resolved
# for it (dependencies that need a newer Rust fall back to an older release); the project's own crates get
# the few post-1.85 features dependencies use switched on through a rustc wrapper. Nothing is cached outside
# the clone: downloads go to target/windows/cargo-home.
#
# projectx-client 8 (under gateway, daemon, demo and riskguard) needs parking_lot 0.13 and parking_lot_core
# 0.10, which use two Rust 1.95 features that 1.85 has no gate for (`cfg_select!`, `Atomic*::try_update`);
# the check builds patched copies of those two crates (see below), so nothing is left out: every crate of
# the workspace, with its tests, examples and benches, is checked, the `cfg(windows)` code of `service`
# (SCM, service main, DPAPI credentials) and of `riskguard` (the service commands) included.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out="$root/target/windows"
mkdir -p "$out"

need=()
for pkg in rustc-web cargo-web rust-web-src gcc-mingw-w64-x86-64 nasm; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "check-windows: installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Debian's cargo and rustc, not rustup's proxies (which would read rust-toolchain.toml).
export PATH="/usr/bin:$PATH"
export RUSTC=/usr/bin/rustc
cargo=/usr/bin/cargo
version=$("$RUSTC" --version | awk '{print $2}')
msrv=${version%.*}                      # 1.85.0 -> 1.85

# A scratch copy of the workspace (tracked and new files, as they are in the working tree).
ws="$out/ws"
rm -rf "$ws"; mkdir -p "$ws"
git ls-files -z --cached --others --exclude-standard | (cd "$root" && xargs -0 cp --parents -t "$ws" 2>/dev/null || true)
sed -i "s/^rust-version = \".*\"/rust-version = \"$msrv\"/" "$ws/Cargo.toml"

export CARGO_HOME="$out/cargo-home"
export CARGO_TARGET_DIR="$out/build"
export CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback
export RUSTC_BOOTSTRAP=1
export RUSTC_WRAPPER="$root/scripts/windows-rustc-wrapper.sh"

cd "$ws"
echo "check-windows: resolving dependencies for Rust $msrv"
"$cargo" update --quiet
"$cargo" fetch --quiet

# projectx-client 8 needs parking_lot 0.13 and parking_lot_core 0.10, which use two things Rust 1.85 has no
# feature gate for, so the check builds patched copies of them (under target/windows/patched):
# - parking_lot_core picks its thread parker with `cfg_select!`; scripts/windows-cfg-select.py turns each
#   arm into the same item under a plain `#[cfg(...)]` (its predicate, and none of the earlier ones). Only
#   src/thread_parker/mod.rs needs it: the other two uses sit in linux.rs and unix.rs, which a Windows build
#   never loads.
# - parking_lot calls `Atomic*::try_update`, which is `fetch_update` (same arguments, same result) under
#   the name it was stabilised with in 1.95.
# The remaining post-1.85 library APIs have feature gates, switched on by the rustc wrapper.
registry=$(ls -d "$CARGO_HOME"/registry/src/*/ | head -n 1)
patch() {  # patch NAME VERSION: copy the registry sources of NAME VERSION and add a [patch] entry for them
  rm -rf "$out/patched/$1-$2"; mkdir -p "$out/patched"; cp -r "$registry/$1-$2" "$out/patched/"
  printf '%s = { path = "%s" }\n' "$1" "$out/patched/$1-$2" >>"$ws/Cargo.toml"
  echo "$out/patched/$1-$2"
}
lock_version() { awk -v n="$1" '$0 == "name = \"" n "\"" {getline; gsub(/version = |"/, ""); print}' Cargo.lock | sort -V | tail -n 1; }
printf '\n[patch.crates-io]\n' >>"$ws/Cargo.toml"
core=$(patch parking_lot_core "$(lock_version parking_lot_core)")
python3 "$root/scripts/windows-cfg-select.py" "$core/src/thread_parker/mod.rs"
pl=$(patch parking_lot "$(lock_version parking_lot)")
grep -rlZ '\.try_update(' "$pl/src" | xargs -0 -r sed -i 's/\.try_update(/.fetch_update(/g'

echo "check-windows: cargo check --target x86_64-pc-windows-gnu --workspace --all-targets (Rust $version)"
start=$(date +%s)
"$cargo" check -Zbuild-std=std,panic_abort --target x86_64-pc-windows-gnu --workspace --all-targets \
  --ignore-rust-version --quiet
echo "check-windows: ok, whole workspace checked, all targets ($(( $(date +%s) - start )) s)"
