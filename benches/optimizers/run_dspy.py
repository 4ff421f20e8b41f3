"""Python DSPy 3.4.1 side of the optimizer side-by-side (see run.sh and BENCHMARKS.md).

Compiles one program with COPRO, MIPROv2, SIMBA or GEPA against an OpenAI-compatible server
(rdspy serve-model), then scores it on the test split. The same LM object is the task model and
the prompt/reflection model (as rdspy's run gets --prompt-model set to the same model). Prints
one JSON line: {"side": "dspy", "optimizer", "data", "compile_seconds", "test_score", "n_test",
"compile_calls", "instructions", "demos"}.
The cache directory must be fresh (run.sh sets DSPY_CACHEDIR before dspy is imported).
"""

import argparse
import json
import time

import dspy
from dspy.clients.base_lm import GLOBAL_HISTORY
from dspy.evaluate.metrics import EM


def load(path, input_key):
    with open(path) as f:
        return [dspy.Example(**json.loads(line)).with_inputs(input_key) for line in f if line.strip()]


def settings(a, n_train, n_val):
    """The settings that matter for this optimizer, in the words of run.sh's rdspy row."""
    per = {
        "copro": f"--breadth {a.breadth} --depth {a.depth}",
        "mipro": f"--auto {a.auto}" + (f" --num-candidates {a.num_candidates} --num-trials {a.num_trials}" if a.auto == "none" else ""),
        "simba": f"--bsize {a.bsize} --max-steps {a.max_steps} --num-candidates {a.simba_candidates}",
        "gepa": f"--max-metric-calls {a.max_metric_calls}" if a.max_metric_calls else f"--auto {a.auto}",
    }[a.optimizer]
    return f"{per} --seed {a.seed}, train {n_train}, val {n_val}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--optimizer", choices=["copro", "mipro", "simba", "gepa"], required=True)
    ap.add_argument("--data", required=True, help="folder with train/val/test.jsonl and signature.txt")
    ap.add_argument("--api-base", required=True)
    ap.add_argument("--model", default="openai/qwen2.5-0.5b")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--breadth", type=int, default=4)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--auto", default="light")
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--num-candidates", type=int, default=None, help="with --auto none")
    ap.add_argument("--num-trials", type=int, default=None, help="with --auto none")
    ap.add_argument("--max-demos", type=int, default=4, help="MIPROv2 bootstrapped demos, SIMBA max_demos")
    ap.add_argument("--bsize", type=int, default=32, help="SIMBA minibatch size")
    ap.add_argument("--max-steps", type=int, default=8, help="SIMBA steps")
    ap.add_argument("--simba-candidates", type=int, default=6, help="SIMBA num_candidates")
    ap.add_argument("--max-metric-calls", type=int, default=None, help="GEPA budget (else --auto)")
    a = ap.parse_args()

    signature = open(f"{a.data}/signature.txt").read().strip()
    input_key = signature.split("->")[0].strip()
    train, val, test = (load(f"{a.data}/{s}.jsonl", input_key) for s in ("train", "val", "test"))
    lm = dspy.LM(a.model, api_base=a.api_base, api_key="local")
    dspy.configure(lm=lm)

    def metric(example, pred, trace=None):
        return EM(pred.label or "", [example.label])

    program = dspy.Predict(signature)
    # Count LM calls in DSPy's global history: SIMBA samples through `lm.copy(...)`, whose calls
    # never reach `lm.history`.
    history_before = len(GLOBAL_HISTORY)
    started, cpu_started = time.perf_counter(), time.process_time()
    if a.optimizer == "copro":
        opt = dspy.COPRO(prompt_model=lm, metric=metric, breadth=a.breadth, depth=a.depth, init_temperature=1.4)
        compiled = opt.compile(program, trainset=train, eval_kwargs=dict(num_threads=a.threads, display_progress=False))
    elif a.optimizer == "mipro":
        auto = None if a.auto == "none" else a.auto
        opt = dspy.MIPROv2(metric=metric, prompt_model=lm, task_model=lm, auto=auto, seed=a.seed, num_threads=a.threads,
                           num_candidates=a.num_candidates if auto is None else None,
                           max_bootstrapped_demos=a.max_demos)
        compiled = opt.compile(program, trainset=train, valset=val, num_trials=a.num_trials if auto is None else None,
                               minibatch=auto is not None)
    elif a.optimizer == "simba":
        opt = dspy.SIMBA(metric=metric, bsize=a.bsize, num_candidates=a.simba_candidates, max_steps=a.max_steps,
                         max_demos=a.max_demos, prompt_model=lm, num_threads=a.threads)
        compiled = opt.compile(program, trainset=train, seed=a.seed)
    else:
        def gepa_metric(gold, pred, trace=None, pred_name=None, pred_trace=None):
            # No feedback text: GEPA shows its default "This trajectory got a score of …", as rdspy does.
            return metric(gold, pred)

        budget = dict(max_metric_calls=a.max_metric_calls) if a.max_metric_calls else dict(auto=a.auto)
        opt = dspy.GEPA(metric=gepa_metric, reflection_lm=lm, num_threads=a.threads, seed=a.seed, **budget)
        compiled = opt.compile(program, trainset=train, valset=val)
    compile_seconds = time.perf_counter() - started
    compile_cpu = time.process_time() - cpu_started  # user + sys of every thread of this process
    calls = len(GLOBAL_HISTORY) - history_before
    # Generated tokens: what a CPU-bound model server spends most of its time on (cache hits: none).
    completion_tokens = sum((e.get("usage") or {}).get("completion_tokens", 0) or 0 for e in GLOBAL_HISTORY[history_before:])
    result = dspy.Evaluate(devset=test, metric=metric, num_threads=a.threads, display_progress=False)(compiled)
    print(json.dumps({
        "side": "dspy", "optimizer": a.optimizer, "data": a.data.rstrip("/").split("/")[-1],
        "compile_seconds": round(compile_seconds, 3), "test_score": float(result.score), "n_test": len(test),
        "compile_calls": calls, "compile_cpu_seconds": round(compile_cpu, 2),
        "completion_tokens": completion_tokens, "settings": settings(a, len(train), len(val)), "instructions": compiled.signature.instructions, "demos": len(compiled.demos),
    }))


if __name__ == "__main__":
    main()
