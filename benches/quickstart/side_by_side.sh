#!/usr/bin/env bash
# benches/quickstart/side_by_side.sh — the quickstart's task, compiled by rdspy and by Python DSPy
# 3.4.1 on the same model, data and optimizer (BENCHMARKS.md "Quickstart").
#
# Both sides call one `rdspy serve-model` process over HTTP (so the weights, the engine and the
# prompts' path are the same), each with a fresh cache directory. The quickstart itself
# (scripts/quickstart.sh) is the in-process row.
#
# Knobs (environment): RDSPY (CLI with the embedded model; default target/release/rdspy),
# DSPY_PYTHON (python with dspy==3.4.1; default .venv-dspy/bin/python), PORT (8141),
# QS_DEV (dev examples, 100), QS_OPTIMIZER (bootstrap | random-search | knn; default
# random-search), QS_CANDIDATES (2), QS_K (knn's k, 3; both sides embed with all-MiniLM-L6-v2
# through the server's /v1/embeddings), SIDES (which rows: "rdspy-http dspy"), OUT (benches/quickstart/results.jsonl).
set -euo pipefail
cd "$(dirname "$0")/../.."
RDSPY=${RDSPY:-target/release/rdspy}
PY=${DSPY_PYTHON:-.venv-dspy/bin/python}
PORT=${PORT:-8141}
DEV_N=${QS_DEV:-100}
OPTIMIZER=${QS_OPTIMIZER:-random-search}
CANDIDATES=${QS_CANDIDATES:-2}
K=${QS_K:-3}
SIDES=${SIDES:-rdspy-http dspy}
OUT=${OUT:-benches/quickstart/results.jsonl}
DATA=data/banking77/cards10
SIG="text -> label: $(cat $DATA/literal.txt)"
INSTR="Classify the intent of a banking customer's message."
WORK=$(mktemp -d /tmp/rdspy-qs-sbs.XXXXXX)
API=http://127.0.0.1:$PORT/v1

head -n "$DEV_N" $DATA/test.jsonl > "$WORK/dev.jsonl"
head -n 260 $DATA/train.jsonl > "$WORK/train.jsonl"
tail -n 40 $DATA/train.jsonl > "$WORK/val.jsonl"
# Optimizer settings shared by both sides (DSPy's defaults where the quickstart does not set them).
OPT_ARGS=(--max-demos 4 --max-labeled 16 --seed 0 --concurrency 2 --k "$K" --embedder openai/all-MiniLM-L6-v2)

"$RDSPY" serve-model --model local/qwen2.5-0.5b --port "$PORT" 2>"$WORK/serve.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do curl -sf "$API/models" >/dev/null && break; sleep 0.5; done

last_json() { tail -n1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

run_rdspy() {  # $1 = side name, then the LM flags
  local side=$1; shift
  export RDSPY_CACHE_DIR=$WORK/cache-$side
  local before after start secs
  before=$("$RDSPY" eval "$@" -s "$SIG" --instructions "$INSTR" --data "$WORK/dev.jsonl" --metric exact_match:label \
    --concurrency 2 --quiet --json | last_json score)
  start=$(date +%s.%N)
  "$RDSPY" compile "$@" -s "$SIG" --instructions "$INSTR" --optimizer "$OPTIMIZER" --candidates "$CANDIDATES" \
    --train "$WORK/train.jsonl" --val "$WORK/val.jsonl" --metric exact_match:label "${OPT_ARGS[@]}" \
    --out "$WORK/$side.json" --no-eval --quiet --json >"$WORK/$side.compile.json" 2>"$WORK/$side.compile.log"
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  after=$("$RDSPY" eval "$@" --program "$WORK/$side.json" --data "$WORK/dev.jsonl" --metric exact_match:label \
    --concurrency 2 --quiet --json | last_json score)
  echo "{\"side\": \"$side\", \"optimizer\": \"$OPTIMIZER\", \"before\": $before, \"after\": $after, \"n\": $DEV_N, \"compile_seconds\": $secs}" | tee -a "$OUT"
}

if [[ " $SIDES " == *" rdspy-http "* ]]; then run_rdspy rdspy-http --lm openai/qwen2.5-0.5b --api-base "$API"; fi
[[ " $SIDES " == *" dspy "* ]] || exit 0
DSPY_CACHEDIR=$WORK/cache-dspy "$PY" benches/quickstart/dspy_quickstart.py --signature "$SIG" --instructions "$INSTR" \
  --train "$WORK/train.jsonl" --val "$WORK/val.jsonl" --dev "$WORK/dev.jsonl" --api-base "$API" \
  --model openai/qwen2.5-0.5b --optimizer "$OPTIMIZER" --candidates "$CANDIDATES" --k "$K" 2>"$WORK/dspy.log" | tail -n1 | tee -a "$OUT"
echo "side_by_side: work files in $WORK" >&2
