"""Python DSPy 3.4.1 side of the optimizer side-by-side (see run.sh and BENCHMARKS.md).

Compiles one program with COPRO or MIPROv2 against an OpenAI-compatible server (rdspy
serve-model), then scores it on the test split. Prints one JSON line:
{"side": "dspy", "optimizer", "data", "compile_seconds", "test_score", "n_test", "calls"}.
The cache directory must be fresh (run.sh sets DSPY_CACHEDIR before dspy is imported).
"""

import argparse
import json
import time

import dspy
from dspy.evaluate.metrics import EM


def load(path, input_key):
    with open(path) as f:
        return [dspy.Example(**json.loads(line)).with_inputs(input_key) for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--optimizer", choices=["copro", "mipro"], required=True)
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
    a = ap.parse_args()

    signature = open(f"{a.data}/signature.txt").read().strip()
    input_key = signature.split("->")[0].strip()
    train, val, test = (load(f"{a.data}/{s}.jsonl", input_key) for s in ("train", "val", "test"))
    lm = dspy.LM(a.model, api_base=a.api_base, api_key="local")
    dspy.configure(lm=lm)

    def metric(example, pred, trace=None):
        return EM(pred.label or "", [example.label])

    program = dspy.Predict(signature)
    started = time.perf_counter()
    if a.optimizer == "copro":
        opt = dspy.COPRO(prompt_model=lm, metric=metric, breadth=a.breadth, depth=a.depth, init_temperature=1.4)
        compiled = opt.compile(program, trainset=train, eval_kwargs=dict(num_threads=a.threads, display_progress=False))
    else:
        auto = None if a.auto == "none" else a.auto
        opt = dspy.MIPROv2(metric=metric, prompt_model=lm, task_model=lm, auto=auto, seed=a.seed, num_threads=a.threads,
                           num_candidates=a.num_candidates if auto is None else None)
        compiled = opt.compile(program, trainset=train, valset=val, num_trials=a.num_trials if auto is None else None,
                               minibatch=auto is not None)
    compile_seconds = time.perf_counter() - started
    calls = len(lm.history)
    result = dspy.Evaluate(devset=test, metric=metric, num_threads=a.threads, display_progress=False)(compiled)
    print(json.dumps({
        "side": "dspy", "optimizer": a.optimizer, "data": a.data.rstrip("/").split("/")[-1],
        "compile_seconds": round(compile_seconds, 1), "test_score": float(result.score), "n_test": len(test),
        "compile_calls": calls, "instructions": compiled.signature.instructions,
    }))


if __name__ == "__main__":
    main()
