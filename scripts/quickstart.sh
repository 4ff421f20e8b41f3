#!/usr/bin/env bash
# scripts/quickstart.sh — README command 1: compile a program on real data and show it got better.
#
#   1. installs what is missing and fetches the embedded models (scripts/setup.sh, Qwen2.5-0.5B too);
#   2. builds the rdspy CLI (release, with the embedded llama.cpp model and the MiniLM embedder);
#   3. scores a zero-shot intent classifier on held-out Banking77 messages (`rdspy eval`);
#   4. compiles it with KNNFewShot (`rdspy compile --optimizer knn --k 3`: DSPy's algorithm and
#      defaults -- for each input, its 3 nearest training messages by all-MiniLM-L6-v2 embedding
#      become the trainset of a BootstrapFewShot compile, which bootstraps them through the
#      zero-shot teacher and fills in labeled demos), and scores the program before and after for
#      report.html;
#   5. scores the saved program.json on the same held-out messages, as a user would run it.
#
# KNNFewShot chooses nothing by validation score (its demos depend only on each input and the
# training pool), so its report scores the held-out dev messages themselves, and every LM call of
# steps 3 and 5 is one that step 4 makes too: the cache answers them, which saves ~6 minutes. The
# optimizers that select by score (random-search, bootstrap's metric) get 40 training messages
# held out of the demo pool instead, so the dev messages stay unseen until the final score.
#
# Task, model and optimizer, chosen by measuring (2 cores; BENCHMARKS.md "Quickstart"): Qwen2.5-0.5B
# on 10 card-related Banking77 intents (data/banking77/cards10) is at ~50% zero-shot; a fixed set
# of demos (BootstrapFewShotWithRandomSearch) moves it only ~6 points, demos chosen per message
# by similarity ~23. On SST-2 it is already ~85% zero-shot, and SmolLM2-135M is at chance on both.
#
# The last line is exactly `quickstart: before <B>% after <A>% (<n> dev examples)`.
# Knobs (environment): QS_MODEL (default local/qwen2.5-0.5b), QS_DEV (dev examples, default 100),
# QS_OPTIMIZER (knn | random-search | bootstrap, default knn), QS_K (knn's k, default 3),
# QS_CANDIDATES (random search's shuffled candidates after DSPy's three fixed ones, default 2),
# QS_SEED (default 0), RDSPY (an rdspy binary with the embedded model to use instead of building
# one). LM calls are cached (~/.cache/rdspy, or RDSPY_CACHE_DIR), so a re-run repeats none.
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL="${QS_MODEL:-local/qwen2.5-0.5b}"
DEV_N="${QS_DEV:-100}"
OPTIMIZER="${QS_OPTIMIZER:-knn}"
CANDIDATES="${QS_CANDIDATES:-2}"
SEED="${QS_SEED:-0}"
K="${QS_K:-3}"
WORK=.quickstart
DATA=data/banking77/cards10
SIG="text -> label: $(cat $DATA/literal.txt)"
INSTR="Classify the intent of a banking customer's message."

RDSPY_WITH_QWEN=1 scripts/setup.sh
if [ -z "${RDSPY:-}" ]; then
  if [ "$OPTIMIZER" = knn ]; then
    # KNNFewShot embeds with the in-process MiniLM (candle).
    cargo build --release -p rdspy-cli
  else
    # The LM only: no embedder, so no candle build (~6 min less).
    cargo build --release -p rdspy-cli --no-default-features --features embedded
  fi
  RDSPY=target/release/rdspy
fi

mkdir -p "$WORK"
# Held-out data: the first DEV_N test messages; the demo pool: 260 training messages; the
# validation set of optimizers that select by score: the other 40 (see
# data/banking77/cards10/README.md).
head -n "$DEV_N" $DATA/test.jsonl > "$WORK/dev.jsonl"
head -n 260 $DATA/train.jsonl > "$WORK/train.jsonl"
tail -n 40 $DATA/train.jsonl > "$WORK/val.jsonl"
VAL="$WORK/val.jsonl"
if [ "$OPTIMIZER" = knn ]; then VAL="$WORK/dev.jsonl"; fi
n=$(wc -l < "$WORK/dev.jsonl" | tr -d ' ')

json_field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])[sys.argv[1]])' "$1"; }

echo "quickstart: scoring the zero-shot program on $n held-out messages with $MODEL" >&2
before=$("$RDSPY" eval --lm "$MODEL" -s "$SIG" --instructions "$INSTR" --data "$WORK/dev.jsonl" \
  --metric exact_match:label --concurrency 2 --json | json_field score)

echo "quickstart: compiling with $OPTIMIZER (progress in $WORK/compile; re-run to resume)" >&2
"$RDSPY" compile --lm "$MODEL" -s "$SIG" --instructions "$INSTR" --optimizer "$OPTIMIZER" \
  --train "$WORK/train.jsonl" --val "$VAL" --metric exact_match:label \
  --max-demos 4 --max-labeled 16 --candidates "$CANDIDATES" --k "$K" --seed "$SEED" --concurrency 2 \
  --resume "$WORK/compile" --out program.json --report report.html >&2

after=$("$RDSPY" eval --program program.json --lm "$MODEL" --data "$WORK/dev.jsonl" \
  --metric exact_match:label --concurrency 2 --json | json_field score)

echo "quickstart: wrote program.json and report.html" >&2
echo "quickstart: before ${before}% after ${after}% (${n} dev examples)"
