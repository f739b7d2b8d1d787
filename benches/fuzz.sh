#!/usr/bin/env bash
# Runs every fuzz target for a bounded time and reports executions and crashes per target.
# Not part of CI (`cargo test` replays the seeds and regressions instead: tests/fuzz_seeds.rs).
#
#   benches/fuzz.sh [SECONDS_PER_TARGET]    (default 60)
#
# Needs a nightly toolchain (`rustup toolchain list`) and cargo-fuzz (`cargo install
# cargo-fuzz`). A crash found is left in fuzz/artifacts/TARGET/; copy it to
# fuzz/regressions/TARGET/ with the fix, so the test replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
targets=(record filter theme keymap labels)
cargo +nightly fuzz build -O
printf '%-8s %12s %10s %8s\n' target executions exec/s crashes
for t in "${targets[@]}"; do
  work="$(mktemp -d)"
  # The committed seeds start the corpus; what the run adds stays in the scratch folder.
  cp fuzz/corpus/"$t"/seed-* "$work"/
  log="$(mktemp)"
  mkdir -p fuzz/artifacts/"$t"
  count() { find fuzz/artifacts/"$t" -type f | wc -l; }
  before=$(count)
  cargo +nightly fuzz run -O "$t" "$work" -- -max_total_time="$secs" -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 >"$log" 2>&1 || true
  after=$(count)
  runs=$( (grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" || echo 0) | grep -oE '[0-9]+$' | tail -1)
  rate=$( (grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" || echo 0) | grep -oE '[0-9]+$' | tail -1)
  printf '%-8s %12s %10s %8s\n' "$t" "$runs" "$rate" "$((after - before))"
  if [ "$after" -gt "$before" ]; then
    grep -E 'panicked|ERROR|SUMMARY' "$log" | head -5 | sed 's/^/    /' || true
  fi
  rm -rf "$work" "$log"
done
