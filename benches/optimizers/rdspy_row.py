"""The rdspy side's result row for run.sh: reads <base>.json (the compiled program), <base>.compile.json
and <base>.eval.json (the last lines `rdspy compile --json` / `rdspy eval --json` print) and prints one
JSON line shaped like run_dspy.py's. Usage: rdspy_row.py BASE OPTIMIZER DATA N_TEST SETTINGS
"""

import json
import sys

base, opt, data, n_test, settings = sys.argv[1:]


def last(path):
    return json.loads(open(path).read().strip().splitlines()[-1])


program = json.load(open(base + ".json"))
# A single Predict is saved flat (as DSPy saves it); a composite program has one entry per predictor.
pred = program if "signature" in program else next(v for v in program.values() if isinstance(v, dict) and "signature" in v)
compiled = last(base + ".compile.json")
try:  # written by cpu_time.sh when run.sh's RDSPY is that wrapper
    cpu = json.load(open(base + ".json.cpu"))
    cpu = round(cpu["user"] + cpu["sys"], 2)
except (OSError, ValueError, KeyError):
    cpu = None
print(json.dumps({
    "side": "rdspy", "optimizer": opt, "data": data, "compile_seconds": round(compiled["seconds"], 3),
    "test_score": last(base + ".eval.json")["score"], "n_test": int(n_test), "compile_calls": compiled["usage"]["calls"],
    "compile_cpu_seconds": cpu, "completion_tokens": compiled["usage"]["completion_tokens"],
    "settings": settings, "instructions": pred["signature"]["instructions"], "demos": len(pred.get("demos", [])),
}))
