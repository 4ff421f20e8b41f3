"""ReAct save/load between rdspy and Python DSPy 3.4.

    react_roundtrip.py load PROGRAM.json INPUTS.json [RESAVED.json]
        builds dspy.ReAct, loads the program rdspy saved, prints {name: messages}
        (and saves what it loaded to RESAVED.json)
    react_roundtrip.py save PROGRAM.json INPUTS.json
        builds dspy.ReAct, changes instructions and demos, saves it, prints {name: messages}

The agent (signature and tools) must match the one in tests/react_python_roundtrip.rs.
"""
import json
import sys

import dspy


def calculator(expression: str):
    """Evaluate an arithmetic expression and return the number."""
    raise NotImplementedError  # never called: only the prompts are compared


def search(query: str, k: int | None = None) -> list[str]:
    """Search the notes."""
    raise NotImplementedError


def agent():
    return dspy.ReAct("question -> answer: float", tools=[calculator, dspy.Tool(search, arg_desc={"query": "what to look for"})])


def messages(program, inputs):
    return {name: dspy.ChatAdapter().format(p.signature, p.demos, inputs[name]) for name, p in program.named_predictors()}


mode, program_path, inputs_path = sys.argv[1:4]
resaved_path = sys.argv[4] if len(sys.argv) > 4 else None
inputs = json.load(open(inputs_path))
program = agent()
if mode == "load":
    program.load(program_path)
    if resaved_path:
        program.save(resaved_path)
else:
    program.react.signature = program.react.signature.with_instructions(program.react.signature.instructions + "\nPrefer the calculator.")
    program.extract.predict.signature = program.extract.predict.signature.with_instructions("Read the trajectory, then answer.")
    program.react.demos = [
        dspy.Example(question="1+1?", trajectory="", next_thought="Add.", next_tool_name="calculator", next_tool_args={"expression": "1+1"}),
    ]
    program.extract.predict.demos = [
        dspy.Example(question="1+1?", trajectory="[[ ## thought_0 ## ]]\nAdd.", reasoning="It is 2.", answer=2.0, augmented=True),
    ]
    program.save(program_path)
print(json.dumps(messages(program, inputs)))
