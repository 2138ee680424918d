#!/usr/bin/env bash
# Runs every fuzz target for a short time (FUZZ_SECONDS, 30 by default) on the
# stable toolchain, starting from the committed seeds. Fails when a target
# crashes, panics (a property failed), runs out of memory or times out;
# prints each target's execution count.
#
#   bash fuzz/ci.sh                    # all targets, 30 s each
#   FUZZ_SECONDS=300 bash fuzz/ci.sh flex webhook
set -euo pipefail
cd "$(dirname "$0")"

seconds="${FUZZ_SECONDS:-30}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(webhook flex segments_text segments_json richmenu scenarios)
fi

# cargo-fuzz uses nightly flags (-Z...); RUSTC_BOOTSTRAP=1 allows them on stable.
export RUSTC_BOOTSTRAP=1
# The fuzz workspace has its own target directory (its flags differ from the main build's).
unset CARGO_BUILD_BUILD_DIR CARGO_BUILD_TARGET_DIR CARGO_TARGET_DIR

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

# cargo-fuzz builds optimized, with debug assertions and overflow checks. No
# sanitizer: the workspace forbids unsafe code, and without one each target runs
# about twice as many executions in the same time.
build=(--sanitizer none)
cargo fuzz build "${build[@]}"

failed=()
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  log="artifacts/$t.log"
  mkdir -p artifacts
  echo "fuzz: $t for ${seconds}s"
  status=0
  cargo fuzz run "${build[@]}" "$t" "corpus/$t" "seeds/$t" -- \
    -dict="dict/$t.dict" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=10 \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  if [ "$status" -ne 0 ]; then
    echo "fuzz: $t FAILED (exit $status) after ${runs:-?} executions; the end of its log:"
    tail -n 60 "$log"
    failed+=("$t")
  else
    echo "fuzz: $t ok, ${runs:-?} executions"
  fi
done

if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: failing targets: ${failed[*]} (reproducers in fuzz/artifacts/<target>/)"
  exit 1
fi
echo "fuzz: all targets passed"
