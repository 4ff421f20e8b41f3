#!/usr/bin/env bash
# scripts/test.sh — run every test of the workspace (README command 2; .ci/run runs it too).
#
# The conformance test reads DSPy's vectors from ../shared/conformance (beside the clone) or
# from $RDSPY_CONFORMANCE_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
# build needs of the embedded model (cmake, clang, libclang-dev) and its weights, when missing
./scripts/setup.sh
cargo test --workspace --release
