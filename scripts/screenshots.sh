#!/usr/bin/env bash
# Refreshes the README's pictures in assets/: the built-in demo through the real pipeline,
# drawn by the console's own renderer into a 120x36 buffer and written as SVG.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --example screenshots -- assets
