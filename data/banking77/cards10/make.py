"""Make data/banking77/cards10 (the quickstart's 10 card intents) from the full Banking77 splits.

Rule: the rows of the 10 intents below, in the original file order of each split, shuffled with
Python's random.Random(0); train.jsonl keeps the first 300 shuffled train rows, test.jsonl all 400
test rows (40 per intent). Usage (from the repository root):
    python3 data/banking77/cards10/make.py /path/to/banking77 data/banking77/cards10
where /path/to/banking77 holds the full train.jsonl and test.jsonl described in ../README.md.
"""

import json
import random
import sys

INTENTS = [
    "card_arrival", "card_delivery_estimate", "card_not_working", "lost_or_stolen_card", "card_swallowed",
    "activate_my_card", "compromised_card", "declined_card_payment", "card_payment_fee_charged", "card_linking",
]

src, dst = sys.argv[1], sys.argv[2]
for split, keep in (("train", 300), ("test", None)):
    rows = [json.loads(line) for line in open(f"{src}/{split}.jsonl") if line.strip()]
    rows = [{"text": r["text"], "label": r["label"]} for r in rows if r["label"] in INTENTS]
    random.Random(0).shuffle(rows)
    with open(f"{dst}/{split}.jsonl", "w") as f:
        for r in rows[:keep]:
            f.write(json.dumps(r) + "\n")
with open(f"{dst}/literal.txt", "w") as f:
    f.write("Literal[" + ", ".join(repr(i) for i in INTENTS) + "]\n")
