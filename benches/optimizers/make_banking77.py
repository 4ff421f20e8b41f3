"""Make data/banking77/intents10 (a 10-intent subset) from the shared Banking77 copy.

Rule: the first 10 intents of labels.json; of their rows, 300 train and 200 test, each file
shuffled with random.Random(0) and cut. Also writes literal.txt (the label type for a DSPy
signature). Usage: python benches/optimizers/make_banking77.py /work/shared/data/banking77 data/banking77/intents10
"""

import json
import random
import sys

src, dst = sys.argv[1], sys.argv[2]
labels = json.load(open(f"{src}/labels.json"))[:10]
for split, n in (("train", 300), ("test", 200)):
    rows = [json.loads(l) for l in open(f"{src}/{split}.jsonl") if l.strip()]
    rows = [r for r in rows if r["label"] in labels]
    random.Random(0).shuffle(rows)
    with open(f"{dst}/{split}.jsonl", "w") as f:
        for r in rows[:n]:
            f.write(json.dumps({"text": r["text"], "label": r["label"]}) + "\n")
with open(f"{dst}/literal.txt", "w") as f:
    f.write("Literal[" + ", ".join(repr(l) for l in labels) + "]\n")
