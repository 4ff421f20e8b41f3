"""Python DSPy 3.4.1 evaluating SST-2 dev against an OpenAI-compatible server (the client side
of benches/embedded/run.py).

    python sst2_dspy.py BASE_URL N

The same task as rdspy's in-process run (`cargo run --release -p rdspy-embedded --example bench`):
signature `sentence -> sentiment: Literal['positive', 'negative']`, ChatAdapter, the first two
positive and the first negative sentences of train.jsonl as demos (in the order pos, neg, pos),
greedy, max_tokens 512, no cache, one request at a time. Prints one JSON line.
"""

import json
import os
import sys
import time

import dspy

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def rows(split, k):
    with open(os.path.join(ROOT, "data", "sst2", f"{split}.jsonl")) as f:
        return [json.loads(line) for _, line in zip(range(k), f)]


def main():
    base, n = sys.argv[1], int(sys.argv[2])
    train = rows("train", 40)
    pos = [r for r in train if r["label"] == "positive"][:2]
    neg = next(r for r in train if r["label"] == "negative")
    demos = [dspy.Example(sentence=r["sentence"], sentiment=r["label"]).with_inputs("sentence") for r in (pos[0], neg, pos[1])]
    lm = dspy.LM("openai/smollm2", api_base=base, api_key="local", cache=False, temperature=0.0, max_tokens=512, num_retries=0)
    dspy.configure(lm=lm, adapter=dspy.ChatAdapter())
    predict = dspy.Predict("sentence -> sentiment: Literal['positive', 'negative']")
    predict.demos = demos
    dev = rows("dev", n)
    predict(sentence=dev[0]["sentence"])  # warm-up: fills the server's prefix cache, as in rdspy's run
    lm.history.clear()
    parsed = correct = 0
    t = time.perf_counter()
    for r in dev:
        try:
            p = predict(sentence=r["sentence"])
        except Exception as e:  # a reply neither ChatAdapter nor its JSON fallback could parse
            print(f"parse failure: {e!r:.200}", file=sys.stderr)
            continue
        parsed += 1
        correct += p.sentiment == r["label"]
    secs = time.perf_counter() - t
    print(json.dumps({"n": n, "seconds": round(secs, 1), "sentences_per_s": round(n / secs, 3), "parsed": parsed,
                      "accuracy": round(100 * correct / n, 1), "lm_calls": len(lm.history)}))


if __name__ == "__main__":
    main()
