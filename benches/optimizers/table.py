"""Print the BENCHMARKS.md table from results.jsonl: one line per (optimizer, data) with the
latest rdspy and DSPy rows that carry `settings` (rows written by the current run.sh).
Usage: python benches/optimizers/table.py [benches/optimizers/results.jsonl]
"""

import json
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "benches/optimizers/results.jsonl"
rows = [json.loads(line) for line in open(path) if line.strip()]
latest = {}
for r in rows:
    if r.get("error") is None and "settings" in r:
        latest[(r["optimizer"], r["data"], r["side"])] = r
names = {"copro": "COPRO", "mipro": "MIPROv2", "simba": "SIMBA", "gepa": "GEPA"}


def secs(t):
    """Whole seconds for model runs; milliseconds where the run is framework time (mock server)."""
    return f"{t:.0f} s" if t >= 10 else f"{t * 1000:.0f} ms"


def time_ratio(r, d):
    """rdspy's compile time over DSPy's: `1/N` when rdspy is more than twice as fast, else a decimal."""
    if not (r and d):
        return "—"
    ratio = r["compile_seconds"] / d["compile_seconds"]
    return f"1/{1 / ratio:.0f}" if ratio < 0.5 else f"{ratio:.2f}"


def cells(x):
    if not x:
        return ["—"] * 4
    cpu = x.get("compile_cpu_seconds")
    return [f"{x['test_score']:.1f}%", secs(x["compile_seconds"]), str(x["compile_calls"]), "—" if cpu is None else f"{cpu:.2f} s"]


print("| optimizer | data | rdspy test score | rdspy time | rdspy LM calls | rdspy CPU | DSPy test score | DSPy time | DSPy LM calls | DSPy CPU | time ratio |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for opt in names:
    for data in ("sst2", "banking77"):
        r, d = latest.get((opt, data, "rdspy")), latest.get((opt, data, "dspy"))
        if not r and not d:
            continue
        ratio = time_ratio(r, d)
        print(f"| {names[opt]} | {data} | " + " | ".join(cells(r) + cells(d)) + f" | {ratio} |")
