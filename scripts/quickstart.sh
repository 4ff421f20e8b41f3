#!/usr/bin/env bash
# scripts/quickstart.sh — README command 1: compile a program on real data and show it got better.
#
#   1. installs what is missing and fetches the embedded models (scripts/setup.sh, Qwen2.5-0.5B too);
#   2. builds the rdspy CLI (release, with the embedded llama.cpp model);
#   3. scores a zero-shot intent classifier on held-out Banking77 messages (`rdspy eval`);
#   4. compiles it with BootstrapFewShotWithRandomSearch (`rdspy compile --optimizer
#      random-search`: DSPy's candidates -- zero-shot, labeled demos only, bootstrapped demos,
#      then shuffled bootstraps -- each scored on 40 training messages held out of the demo
#      pool), journalling its progress in .quickstart/compile (re-running resumes) and writing
#      report.html;
#   5. scores the compiled program.json on the same held-out messages.
#
# Task and model, chosen by measuring (2 cores; BENCHMARKS.md "Quickstart"): Qwen2.5-0.5B on 10
# card-related Banking77 intents (data/banking77/cards10) is at ~50% zero-shot and gains from
# demos; on SST-2 it is already ~85% zero-shot, and SmolLM2-135M is at chance on both.
#
# The last line is exactly `quickstart: before <B>% after <A>% (<n> dev examples)`.
# Knobs (environment): QS_MODEL (default local/qwen2.5-0.5b), QS_DEV (dev examples, default 100),
# QS_OPTIMIZER (random-search | bootstrap, default random-search), QS_CANDIDATES (shuffled
# candidates after DSPy's three fixed ones, default 2), QS_SEED (default 0), RDSPY (an rdspy
# binary with the embedded model to use instead of building one).
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL="${QS_MODEL:-local/qwen2.5-0.5b}"
DEV_N="${QS_DEV:-100}"
OPTIMIZER="${QS_OPTIMIZER:-random-search}"
CANDIDATES="${QS_CANDIDATES:-2}"
SEED="${QS_SEED:-0}"
WORK=.quickstart
DATA=data/banking77/cards10
SIG="text -> label: $(cat $DATA/literal.txt)"
INSTR="Classify the intent of a banking customer's message."

RDSPY_WITH_QWEN=1 scripts/setup.sh
if [ -z "${RDSPY:-}" ]; then
  # The LM only: the quickstart does not embed, so it skips the MiniLM embedder's candle build (~6 min).
  cargo build --release -p rdspy-cli --no-default-features --features embedded
  RDSPY=target/release/rdspy
fi

mkdir -p "$WORK"
# Held-out data: the first DEV_N test messages; the demo pool: 260 training messages; the
# optimizer's own validation set: the other 40 (see data/banking77/cards10/README.md), so the
# dev messages stay unseen until the final score.
head -n "$DEV_N" $DATA/test.jsonl > "$WORK/dev.jsonl"
head -n 260 $DATA/train.jsonl > "$WORK/train.jsonl"
tail -n 40 $DATA/train.jsonl > "$WORK/val.jsonl"
n=$(wc -l < "$WORK/dev.jsonl" | tr -d ' ')

json_field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])[sys.argv[1]])' "$1"; }

echo "quickstart: scoring the zero-shot program on $n held-out messages with $MODEL" >&2
before=$("$RDSPY" eval --lm "$MODEL" -s "$SIG" --instructions "$INSTR" --data "$WORK/dev.jsonl" \
  --metric exact_match:label --concurrency 2 --json | json_field score)

echo "quickstart: compiling with $OPTIMIZER (progress in $WORK/compile; re-run to resume)" >&2
"$RDSPY" compile --lm "$MODEL" -s "$SIG" --instructions "$INSTR" --optimizer "$OPTIMIZER" \
  --train "$WORK/train.jsonl" --val "$WORK/val.jsonl" --metric exact_match:label \
  --max-demos 4 --max-labeled 16 --candidates "$CANDIDATES" --seed "$SEED" --concurrency 2 \
  --resume "$WORK/compile" --out program.json --report report.html >&2

after=$("$RDSPY" eval --program program.json --lm "$MODEL" --data "$WORK/dev.jsonl" \
  --metric exact_match:label --concurrency 2 --json | json_field score)

echo "quickstart: wrote program.json and report.html" >&2
echo "quickstart: before ${before}% after ${after}% (${n} dev examples)"
