"""Load a program saved by rdspy into Python DSPy 3.4 and print the prompts it formats.

argv: program.json, spec.json ({name: {"spec", "module"}}), inputs.json ({name: inputs})
Prints {name: messages} as JSON.
"""
import json
import sys

import dspy


class Program(dspy.Module):
    def __init__(self, spec):
        super().__init__()
        for name, s in spec.items():
            mod = dspy.ChainOfThought(s["spec"]) if s["module"] == "chain_of_thought" else dspy.Predict(s["spec"])
            setattr(self, name, mod)


program_path, spec_path, inputs_path = sys.argv[1:4]
spec = json.load(open(spec_path))
inputs = json.load(open(inputs_path))
program = Program(spec)
program.load(program_path)
out = {}
for name, predictor in program.named_predictors():
    out[name] = dspy.ChatAdapter().format(predictor.signature, predictor.demos, inputs[name])
print(json.dumps(out))
