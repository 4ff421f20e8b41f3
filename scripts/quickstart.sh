#!/usr/bin/env bash
# scripts/quickstart.sh — README command 1: build rdspy and show what a program sends.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null 2>&1 || { echo "quickstart: cargo is required: install Rust from https://rustup.rs" >&2; exit 1; }
cargo build --release -p rdspy-cli
RDSPY=target/release/rdspy
echo "== The exact prompt a ChainOfThought program sends (DSPy 3.4 ChatAdapter, byte for byte):"
"$RDSPY" inspect --signature "context: list[str], question -> answer" --module cot \
  --instructions "Answer the question using only the context." \
  --input 'context=["Paris is the capital of France.", "Rome is the capital of Italy."]' \
  --input question="What is the capital of Italy?"
