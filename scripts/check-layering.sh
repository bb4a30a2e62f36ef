#!/usr/bin/env bash
# The engine and the model are pure: they must not pull in a runtime, an HTTP client or a database.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for crate in model engine; do
  tree=$(cargo tree -p "$crate" -e normal --prefix none)   # fails loudly if cargo tree fails
  bad=$(printf '%s\n' "$tree" | grep -E '^(tokio|reqwest|rusqlite|hyper|axum) ' | sort -u || true)
  if [ -n "$bad" ]; then
    echo "layering: $crate depends on forbidden crates:"; echo "$bad"; status=1
  fi
done
# The service crate is below the daemon: the binary wires the two together.
if cargo tree -p service -e normal --prefix none | grep -qE '^daemon '; then
  echo "layering: service depends on daemon"; status=1
fi
# The trader's UI talks to the daemon only through the API crate.
if cargo tree -p tui -e normal --prefix none | grep -qE '^(daemon|engine|store|gateway) '; then
  echo "layering: tui depends on the daemon's internals (use the api crate)"; status=1
fi
[ $status -eq 0 ] && echo "layering: ok (model and engine are free of tokio, reqwest, rusqlite)"
exit $status
