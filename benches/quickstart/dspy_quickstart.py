"""Python DSPy 3.4.1 side of the quickstart comparison (see side_by_side.sh and BENCHMARKS.md).

The same task as scripts/quickstart.sh: a zero-shot Predict scored on the dev file, compiled with
BootstrapFewShot, BootstrapFewShotWithRandomSearch (candidates scored on --val) or KNNFewShot (--k
neighbours per input, embedded by the server's /v1/embeddings with all-MiniLM-L6-v2) on the train
file, scored again. The model is whatever OpenAI-compatible server --api-base points at
(`rdspy serve-model`, so both sides use the same weights, embedder and engine).
Prints one JSON line: {"side": "dspy", "before", "after", "n", "compile_seconds", "calls"}.
Set DSPY_CACHEDIR to a fresh directory before running (side_by_side.sh does).
"""

import argparse
import json
import time

import dspy
from dspy.evaluate.metrics import answer_exact_match


def load(path, input_key, limit=None):
    rows = []
    with open(path) as f:
        for line in f:
            if line.strip():
                rows.append(dspy.Example(**json.loads(line)).with_inputs(input_key))
    return rows[:limit] if limit else rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--signature", required=True)
    ap.add_argument("--instructions", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--val", help="random search's validation set (default: the train file, as in DSPy)")
    ap.add_argument("--dev", required=True)
    ap.add_argument("--api-base", required=True)
    ap.add_argument("--model", default="openai/qwen2.5-0.5b")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-demos", type=int, default=4)
    ap.add_argument("--max-labeled", type=int, default=16)
    ap.add_argument("--optimizer", choices=["bootstrap", "random-search", "knn"], default="bootstrap")
    ap.add_argument("--k", type=int, default=3, help="KNNFewShot's k")
    ap.add_argument("--candidates", type=int, default=4, help="random search's num_candidate_programs")
    a = ap.parse_args()

    signature = dspy.Signature(a.signature, a.instructions)
    input_key = list(signature.input_fields)[0]
    output_key = list(signature.output_fields)[0]
    train, dev = load(a.train, input_key), load(a.dev, input_key)
    val = load(a.val, input_key) if a.val else None
    # KNNFewShot re-bootstraps every input's neighbours, so a neighbour shared by two inputs is sent
    # to the teacher twice: the cache (in the fresh DSPY_CACHEDIR) answers the repeat, as rdspy's does.
    lm = dspy.LM(a.model, api_base=a.api_base, api_key="local", cache=a.optimizer == "knn")
    dspy.configure(lm=lm)

    # rdspy's `exact_match:label`: DSPy's answer_exact_match on the label field.
    def metric(example, pred, trace=None):
        return answer_exact_match(dspy.Example(answer=example[output_key]), dspy.Prediction(answer=pred.get(output_key) or ""))

    evaluate = dspy.Evaluate(devset=dev, metric=metric, num_threads=a.threads, display_progress=False, max_errors=len(dev))
    program = dspy.Predict(signature)
    before = evaluate(program).score
    started = time.perf_counter()
    if a.optimizer == "bootstrap":
        optimizer = dspy.BootstrapFewShot(metric=metric, max_bootstrapped_demos=a.max_demos, max_labeled_demos=a.max_labeled)
        compiled = optimizer.compile(program, trainset=train)
    elif a.optimizer == "knn":
        embedder = dspy.Embedder("openai/all-MiniLM-L6-v2", api_base=a.api_base, api_key="local", caching=False)
        optimizer = dspy.KNNFewShot(a.k, train, vectorizer=embedder, metric=metric,
                                    max_bootstrapped_demos=a.max_demos, max_labeled_demos=a.max_labeled)
        compiled = optimizer.compile(program)  # the LM work happens per input, inside `after`
    else:
        optimizer = dspy.BootstrapFewShotWithRandomSearch(
            metric=metric, max_bootstrapped_demos=a.max_demos, max_labeled_demos=a.max_labeled,
            num_candidate_programs=a.candidates, num_threads=a.threads)
        compiled = optimizer.compile(program, trainset=train, valset=val)  # DSPy's candidate seeds: -3..candidates-1
    compile_seconds = time.perf_counter() - started
    after = evaluate(compiled).score
    print(json.dumps({"side": "dspy", "optimizer": a.optimizer, "before": before, "after": after, "n": len(dev),
                      "compile_seconds": round(compile_seconds, 1), "calls": len(lm.history),
                      "demos": len(getattr(compiled, "demos", []))}))


if __name__ == "__main__":
    main()
