#!/usr/bin/env bash
# Side-by-side: COPRO, MIPROv2, SIMBA and GEPA in rdspy and in Python DSPy 3.4.1, same model
# (task model = prompt/reflection model), data, metric, seed and settings, fresh caches. Usage:
#   benches/optimizers/run.sh [copro|mipro|simba|gepa ...]   (default: all four, on sst2 and banking77)
# Env: RDSPY (the rdspy CLI; default target/release/rdspy, built by scripts/quickstart.sh or
#   cargo build --release -p rdspy-cli), SERVE (a binary with the embedded model serving both
#   sides; default the same), DSPY_PYTHON (python with dspy==3.4.1 and optuna; default
#   .venv-dspy/bin/python, made by scripts/setup.sh -- pip install optuna into it for MIPROv2), PORT (8113), MODEL (local/qwen2.5-0.5b), DATASETS ("sst2 banking77"),
#   SIDES ("rdspy dspy"), N_TRAIN/N_VAL/N_TEST (30/30/60), BREADTH/DEPTH (COPRO, 4/2), AUTO (MIPROv2, light; or none with
#   NUM_CANDIDATES and NUM_TRIALS), MAX_DEMOS (4), BSIZE/MAX_STEPS/SIMBA_CANDIDATES (SIMBA, 8/2/3),
#   MAX_METRIC_CALLS (GEPA, 60), THREADS (4). Each side's row is appended to OUT as it finishes.
#   MOCK_LATENCY_MS=N: both sides call `rdspy mock-server` (N ms per answer) instead of the model, to
#   compare the frameworks' own time and CPU; rows go to results-mock.jsonl (scores meaningless).
set -euo pipefail
cd "$(dirname "$0")/../.."
RDSPY=${RDSPY:-target/release/rdspy}
SERVE=${SERVE:-$RDSPY}
PY=${DSPY_PYTHON:-.venv-dspy/bin/python}
PORT=${PORT:-8113}
MODEL=${MODEL:-local/qwen2.5-0.5b}
NAME=${MODEL#local/}
DATASETS=${DATASETS:-sst2 banking77}
N_TRAIN=${N_TRAIN:-30}; N_VAL=${N_VAL:-30}; N_TEST=${N_TEST:-60}
BREADTH=${BREADTH:-4}; DEPTH=${DEPTH:-2}; AUTO=${AUTO:-light}; NUM_CANDIDATES=${NUM_CANDIDATES:-}; NUM_TRIALS=${NUM_TRIALS:-}; THREADS=${THREADS:-4}; SEED=${SEED:-9}
MAX_DEMOS=${MAX_DEMOS:-4}; BSIZE=${BSIZE:-8}; MAX_STEPS=${MAX_STEPS:-2}; SIMBA_CANDIDATES=${SIMBA_CANDIDATES:-3}; MAX_METRIC_CALLS=${MAX_METRIC_CALLS:-60}
OPTIMIZERS=${*:-copro mipro simba gepa}
SIDES=${SIDES:-rdspy dspy}
WORK=$(mktemp -d /tmp/rdspy-bench-opt.XXXXXX)
OUT=${OUT:-benches/optimizers/results${MOCK_LATENCY_MS:+-mock}.jsonl}
MIPRO_ARGS=(--auto "$AUTO")
if [ "$AUTO" = none ]; then MIPRO_ARGS+=(--num-candidates "$NUM_CANDIDATES" --num-trials "$NUM_TRIALS"); fi
RDSPY_MIPRO_ARGS=("${MIPRO_ARGS[@]}")
if [ "$AUTO" = none ]; then RDSPY_MIPRO_ARGS+=(--no-minibatch); fi  # run_dspy.py passes minibatch=False itself
API=http://127.0.0.1:$PORT/v1
# Per-optimizer flags, the same settings on both sides (rdspy's --num-candidates is shared by MIPROv2 and SIMBA).
rdspy_args() {
  case $1 in
    copro) echo --breadth "$BREADTH" --depth "$DEPTH" ;;
    mipro) echo "${RDSPY_MIPRO_ARGS[@]}" ;;
    simba) echo --bsize "$BSIZE" --max-steps "$MAX_STEPS" --num-candidates "$SIMBA_CANDIDATES" ;;
    gepa) echo --max-metric-calls "$MAX_METRIC_CALLS" ;;
  esac
}
dspy_args() {
  case $1 in
    copro) echo --breadth "$BREADTH" --depth "$DEPTH" ;;
    mipro) echo "${MIPRO_ARGS[@]}" ;;
    simba) echo --bsize "$BSIZE" --max-steps "$MAX_STEPS" --simba-candidates "$SIMBA_CANDIDATES" ;;
    gepa) echo --max-metric-calls "$MAX_METRIC_CALLS" ;;
  esac
}

if [ -n "${MOCK_LATENCY_MS:-}" ]; then
  # Framework overhead instead of model time: both sides call `rdspy mock-server` (a deterministic
  # OpenAI-compatible mock that fills any DSPy prompt's output fields), so the wall time is each
  # framework's own. Scores are meaningless here; only times, calls and CPU are compared.
  "$RDSPY" mock-server --port "$PORT" --latency-ms "$MOCK_LATENCY_MS" >"$WORK/mock.log" 2>&1 &
  SERVER=$!
  trap 'kill $SERVER 2>/dev/null || true' EXIT
  for _ in $(seq 60); do curl -sf "$API/models" >/dev/null && break; sleep 0.5; done
elif ! curl -sf "$API/models" >/dev/null; then
  RDSPY_MODELS_DIR=${RDSPY_MODELS_DIR:-models} "$SERVE" serve-model --model "$MODEL" --port "$PORT" >"$WORK/serve.log" 2>&1 &
  SERVER=$!
  trap 'kill $SERVER 2>/dev/null || true' EXIT
  for _ in $(seq 120); do curl -sf "$API/models" >/dev/null && break; sleep 1; done
fi

# Splits: SST-2 from data/sst2 (train → train/val, dev → test); Banking77 from data/banking77/intents10
# (the 10-intent subset; train → train/val, test → test). Always the first N lines.
split() {  # name src_train src_test signature
  local d=$WORK/$1; mkdir -p "$d"
  head -n "$N_TRAIN" "$2" >"$d/train.jsonl"
  sed -n "$((N_TRAIN + 1)),$((N_TRAIN + N_VAL))p" "$2" >"$d/val.jsonl"
  head -n "$N_TEST" "$3" >"$d/test.jsonl"
  echo "$4" >"$d/signature.txt"
}
split sst2 data/sst2/train.jsonl data/sst2/dev.jsonl "sentence -> label: Literal['positive', 'negative']"
split banking77 data/banking77/intents10/train.jsonl data/banking77/intents10/test.jsonl "text -> label: $(cat data/banking77/intents10/literal.txt)"

for data in $DATASETS; do
  d=$WORK/$data; sig=$(cat "$d/signature.txt")
  for opt in $OPTIMIZERS; do
    # rdspy: compile (fresh cache), then score on the test split.
    if [[ " $SIDES " == *" rdspy "* ]]; then
    export RDSPY_CACHE_DIR=$WORK/cache-rdspy-$data-$opt
    if ! "$RDSPY" compile --lm "openai/$NAME" --api-base "$API" -s "$sig" --train "$d/train.jsonl" --val "$d/val.jsonl" \
      --metric exact_match:label --optimizer "$opt" --prompt-model "openai/$NAME" $(rdspy_args "$opt") --seed "$SEED" \
      --max-demos "$MAX_DEMOS" --concurrency "$THREADS" --out "$WORK/$data-$opt.json" --report "$WORK/$data-$opt.html" --no-eval --quiet --json \
      >"$WORK/$data-$opt.compile.json" 2>"$WORK/$data-$opt.compile.log"; then
      echo "{\"side\": \"rdspy\", \"optimizer\": \"$opt\", \"data\": \"$data\", \"error\": \"compile failed, see $WORK/$data-$opt.compile.log\"}" | tee -a "$OUT"
    else
    "$RDSPY" eval --program "$WORK/$data-$opt.json" --lm "openai/$NAME" --api-base "$API" --data "$d/test.jsonl" \
      --metric exact_match:label --concurrency "$THREADS" --quiet --json >"$WORK/$data-$opt.eval.json" 2>>"$WORK/$data-$opt.compile.log"
    "$PY" benches/optimizers/rdspy_row.py "$WORK/$data-$opt" "$opt" "$data" "$N_TEST" "$(rdspy_args "$opt") --seed $SEED, train $N_TRAIN, val $N_VAL" \
      | tee -a "$OUT" || echo "rdspy $opt on $data: no result row, see $WORK/$data-$opt.compile.log" >&2
    fi
    fi
    # Python DSPy: fresh cache directory, same settings.
    [[ " $SIDES " == *" dspy "* ]] || continue
    DSPY_CACHEDIR=$WORK/cache-dspy-$data-$opt "$PY" benches/optimizers/run_dspy.py --optimizer "$opt" --data "$d" --api-base "$API" \
      --model "openai/$NAME" --threads "$THREADS" $(dspy_args "$opt") --max-demos "$MAX_DEMOS" --seed "$SEED" \
      2>"$WORK/$data-$opt.dspy.log" | tail -n1 | tee -a "$OUT" || echo "DSPy $opt on $data failed: see $WORK/$data-$opt.dspy.log" >&2
  done
done
echo "work files (programs, reports, logs): $WORK" >&2
