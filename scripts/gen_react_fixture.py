#!/usr/bin/env python3
"""Record Python DSPy 3.4.1's ReAct prompts into crates/rdspy/tests/fixtures/react/, so
crates/rdspy/tests/react_conformance.rs can check that rdspy's ReAct sends the same bytes.

Each case runs a real `dspy.ReAct` with scripted LM replies (DSPy's DummyLM) and real Python
tools; the fixture holds the signature, the tools' rendering, and every call's messages and
reply in order. The Rust test builds the same agent with equivalent Rust tools, replays the
replies and compares every message.

Usage (needs dspy==3.4.1):
    /work/dspy-venv/bin/python scripts/gen_react_fixture.py
"""
import json
import os

import pydantic

import dspy
from dspy.utils.dummies import DummyLM

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "rdspy", "tests", "fixtures", "react")


def calculator(expression: str):
    """Evaluate an arithmetic expression and return the number."""
    value = eval(expression, {"__builtins__": {}}, {})  # the fixture's fixed, trusted expressions
    return int(value) if float(value).is_integer() else float(value)


def search(query: str, k: int | None = None) -> list[str]:
    """Search the notes.
    Returns matching lines."""
    return [f"{query} result {i}" for i in range(k or 2)]


class Item(pydantic.BaseModel):
    name: str
    qty: int | None = None


def lookup(item: Item) -> dict:
    """Look an item up in the inventory."""
    return {"name": item.name, "qty": item.qty or 1, "in_stock": True}


def noop() -> str:
    return "ok"


class Plan(dspy.Signature):
    """Plan a trip within the budget.

    Use the tools when numbers are involved."""

    city: str = dspy.InputField(desc="where to go")
    budget: float = dspy.InputField()
    plan: str = dspy.OutputField(desc="one paragraph")
    cost: float = dspy.OutputField()


CASES = [
    {
        "id": "agent_finish",
        "signature": "question -> answer: float",
        "tools": [calculator, dspy.Tool(search, arg_desc={"query": "what to look for"}), lookup],
        "inputs": {"question": "What is 2 + 3 * 4?"},
        "max_iters": None,
        "replies": [
            {"next_thought": "Compute it.", "next_tool_name": "calculator", "next_tool_args": {"expression": "2 + 3 * 4"}},
            {"next_thought": "Check notes.", "next_tool_name": "search", "next_tool_args": {"query": "precedence", "k": 3}},
            {"next_thought": "And stock «x».\nTwo lines.", "next_tool_name": "lookup", "next_tool_args": {"item": {"name": "apple", "qty": 3}}},
            {"next_thought": "Done.", "next_tool_name": "finish", "next_tool_args": {}},
            {"reasoning": "The calculator said 14.", "answer": 14.0},
        ],
    },
    {
        "id": "typed_max_iters",
        "signature": Plan,
        "tools": [calculator, noop],
        "inputs": {"city": "Lyon", "budget": 300.5},
        "max_iters": 2,
        "replies": [
            {"next_thought": "Half the budget.", "next_tool_name": "calculator", "next_tool_args": {"expression": "300.5 / 2"}},
            {"next_thought": "Nothing else.", "next_tool_name": "noop", "next_tool_args": {}},
            {"reasoning": "Spend half.", "plan": "Two nights in Lyon.", "cost": 150.25},
        ],
    },
]


def main():
    os.makedirs(OUT, exist_ok=True)
    for case in CASES:
        lm = DummyLM(case["replies"])
        dspy.configure(lm=lm, adapter=dspy.ChatAdapter())
        react = dspy.ReAct(case["signature"], tools=case["tools"])
        kwargs = dict(case["inputs"])
        if case["max_iters"] is not None:
            kwargs["max_iters"] = case["max_iters"]
        pred = react(**kwargs)
        calls = [
            {"messages": h["messages"], "reply": h["outputs"][0] if isinstance(h["outputs"][0], str) else h["outputs"][0]["text"]}
            for h in lm.history
        ]
        sig = react.signature
        out = {
            "id": case["id"],
            "dspy_version": dspy.__version__,
            "inputs": case["inputs"],
            "max_iters": case["max_iters"],
            "instructions": sig.instructions,
            "tools": [str(t) for t in react.tools.values()],
            "calls": calls,
            "trajectory": pred.trajectory,
            "outputs": {k: v for k, v in pred.items() if k != "trajectory"},
            "saved": react.dump_state(),
        }
        with open(os.path.join(OUT, f"{case['id']}.json"), "w") as f:
            json.dump(out, f, indent=1, ensure_ascii=False)
            f.write("\n")
        print(case["id"], len(calls), "calls")


if __name__ == "__main__":
    main()
