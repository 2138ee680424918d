#!/usr/bin/env bash
# Fails when line-segments without default features depends (normally, not dev/build) on an async
# runtime or HTTP stack. The AST, parsers, checker, evaluator and SQL compiler must stay embeddable.
set -euo pipefail
cd "$(dirname "$0")/.."
tree="$(cargo tree -p line-segments --no-default-features -e normal --prefix none --format '{p}')"
bad="$(printf '%s\n' "$tree" | awk '{print $1}' | grep -E '^(tokio|tokio-[a-z-]+|hyper|hyper-[a-z-]+|reqwest|mio)$' | sort -u || true)"
if [ -n "$bad" ]; then
    echo "line-segments --no-default-features pulls in I/O crates:" >&2
    printf '  %s\n' $bad >&2
    exit 1
fi
echo "line-segments --no-default-features: no tokio, hyper, reqwest or mio"
