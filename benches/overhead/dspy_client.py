"""The Python DSPy 3.4.1 side of the overhead benchmark: the same workload as
examples/overhead_client.rs. argv: api_base calls concurrency. Prints one JSON line."""
import json
import os
import resource
import sys
import time

import dspy

root = os.path.join(os.path.dirname(__file__), "..", "..", "data", "hotpotqa")
corpus = {}
with open(os.path.join(root, "corpus.jsonl")) as f:
    for line in f:
        d = json.loads(line)
        corpus[d["title"]] = d["text"]
questions = [json.loads(line) for line in open(os.path.join(root, "questions.jsonl"))]
examples = [
    dspy.Example(context=[corpus[t] for t in q["supporting_titles"] if t in corpus], question=q["question"]).with_inputs("context", "question")
    for q in questions
]

api_base, calls, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lm = dspy.LM("openai/mock", api_base=api_base, api_key="unused", cache=False, num_retries=3)
dspy.configure(lm=lm)
program = dspy.ChainOfThought("context: list[str], question -> answer")
batch = [examples[i % len(examples)] for i in range(calls)]
# CPU of the workload only (all threads of this process), not of `import dspy`
cpu0 = resource.getrusage(resource.RUSAGE_SELF)
start = time.time()
ok, failed, _errors = program.batch(batch, num_threads=concurrency, max_errors=calls, return_failed_examples=True, disable_progress_bar=True)
wall = time.time() - start
cpu1 = resource.getrusage(resource.RUSAGE_SELF)
cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
print(json.dumps({"calls": calls, "ok": sum(1 for r in ok if r is not None), "errors": len(failed), "wall_s": wall, "cpu_s": cpu}))
