#!/usr/bin/env python3
"""Record extra conformance vectors from the real Python DSPy, in the format of
../shared/conformance (see its README), into crates/rdspy/tests/fixtures/conformance-extra/.

The shared vectors are a sample; these cover more types, demos and parse cases so the Rust
adapters are checked against DSPy's actual behaviour, not against our reading of it.

Usage (needs dspy==3.4.1):
    python3 -m venv .venv-dspy && .venv-dspy/bin/pip install dspy==3.4.1
    .venv-dspy/bin/python scripts/gen_conformance.py
"""
import json
import os
import sys

import dspy
from dspy.adapters.chat_adapter import ChatAdapter
from dspy.adapters.json_adapter import JSONAdapter

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "rdspy", "tests", "fixtures", "conformance-extra")

SIGS = [
    # (id, spec, instructions, descs)
    ("qa", "question -> answer", None, {}),
    ("qa_multiline_instr", "question -> answer", "Answer briefly.\n\n    Indented line stays indented.\n  Two spaces.", {}),
    ("qa_indented_instr", "question -> answer", "    Common indent.\n    Removed by dedent.\n", {}),
    ("qa_empty_instr", "question -> answer", "", {}),
    ("descs_everywhere", "context: list[str], question: str -> answer: str, confidence: float",
     "Use the context.", {"context": "facts", "question": "the ask", "answer": "short", "confidence": "0 to 1"}),
    ("bool_int", "text -> flag: bool, count: int", "Count things.", {}),
    ("nested_list", "items: list[list[int]] -> total: int", None, {}),
    ("dict_any", "doc -> meta: dict[str, Any]", "Extract metadata.", {}),
    ("dict_list", "doc -> groups: dict[str, list[str]]", None, {}),
    ("opt_list", "q -> maybe: Optional[list[str]]", None, {}),
    ("list_opt", "q -> vals: list[Optional[int]]", None, {}),
    ("union", "q -> v: Union[int, str]", None, {}),
    ("pep604", "q -> v: float | None, w: str | None", None, {}),
    ("lit_quotes", """q -> label: Literal["she's", 'say "hi"', 'plain']""", None, {}),
    ("lit_mixed", "q -> v: Literal[1, 2, 3]", None, {}),
    ("lit_bool", "q -> v: Literal[True, False]", None, {}),
    ("tuple", "q -> pair: tuple[int, str]", None, {}),
    ("any_out", "q -> v: Any", None, {}),
    ("many", "a, b, c: int, d: list[str] -> e, f: bool, g: dict[str, float]", "Many fields.", {"b": "bee"}),
    ("unicode", "frage -> antwort", "Beantworte die Frage — kurz, bitte. «Zitat» é ü 日本", {"antwort": "ein Wort"}),
    ("camel", "userQuery, HTMLDoc -> parsedValue2", None, {}),
]

INPUTS = {
    "question": ["What is 2+2?", "", "multi\nline\n", "  padded  ", "list? [1, 2]"],
    "context": [["a"], [], ["x\ny", "«q»", "plain"], ["one", "two"]],
    "text": ["hello", "Ünïcödé ✓"],
    "items": [[[1, 2], [3]], []],
    "doc": ["Doc text.", "{\"already\": \"json\"}"],
    "q": ["why?", "x"],
    "a": ["A", ["l1", "l2"], {"k": 1}, 3, 2.5, True, None],
    "b": ["B"],
    "c": [7, 0],
    "d": [["x", "y"], []],
    "frage": ["Wie spät ist es?"],
    "userQuery": ["find it"],
    "HTMLDoc": ["<p>hi</p>"],
}

VALUES = {
    "answer": ["Paris", "multi\nline answer", "", 4, ["as", "list"]],
    "confidence": [0.9, 1.0, 1e-05, 12345678901234567890.0],
    "flag": [True, False],
    "count": [3],
    "total": [6],
    "meta": [{"a": 1, "b": [1, 2], "c": {"d": None}}],
    "groups": [{"x": ["a", "b"]}],
    "maybe": [None, ["a"]],
    "vals": [[1, None]],
    "v": [1, "one", None],
    "w": ["w"],
    "label": ["she's"],
    "pair": [[1, "a"]],
    "e": ["E"],
    "f": [True],
    "g": [{"x": 1.5}],
    "antwort": ["Zwölf"],
    "parsedValue2": ["pv"],
    "reasoning": ["Because.", "step 1\nstep 2"],
}


def make_sig(spec, instructions, descs, module):
    sig = dspy.Signature(spec) if instructions is None else dspy.Signature(spec, instructions)
    for k, d in descs.items():
        sig = sig.with_updated_fields(k, desc=d)
    if module == "chain_of_thought":
        sig = dspy.ChainOfThought(sig).predict.signature
    return sig


def pick(values, i):
    return values[i % len(values)]


def gen_inputs(sig, i):
    return {k: pick(INPUTS.get(k, ["x"]), i + j) for j, k in enumerate(sig.input_fields)}


def gen_demo(sig, i, drop=None):
    d = dict(gen_inputs(sig, i + 1))
    for j, k in enumerate(sig.output_fields):
        d[k] = pick(VALUES.get(k, ["y"]), i + j)
    for k in drop or []:
        d.pop(k, None)
    return d


def format_cases(adapter_name, adapter):
    cases = []
    for sid, spec, instr, descs in SIGS:
        for module in ("predict", "chain_of_thought"):
            sig = make_sig(spec, instr, descs, module)
            outs = list(sig.output_fields)
            ins = list(sig.input_fields)
            demo_sets = [
                [],
                [gen_demo(sig, 0), gen_demo(sig, 1)],
                [gen_demo(sig, 2, drop=[outs[0]]), gen_demo(sig, 3)],  # incomplete first by rule
                [gen_demo(sig, 4), gen_demo(sig, 5, drop=ins[1:] + outs[1:])],
                [dict(gen_demo(sig, 6), **{outs[-1]: None})],  # None value = incomplete
                [{ins[0]: "only input"}],  # dropped: no output
            ]
            for di, demos in enumerate(demo_sets):
                for ii in range(2):
                    inputs = gen_inputs(sig, ii + di)
                    if di == 5 and len(ins) > 1:
                        inputs.pop(ins[-1])  # a missing input is omitted
                    try:
                        msgs = adapter.format(sig, demos, inputs)
                    except Exception as e:  # noqa: BLE001 - record only what DSPy formats
                        print(f"skip {sid}/{module}/{di}/{ii}: {e}", file=sys.stderr)
                        continue
                    cases.append({
                        "id": f"extra/format/{adapter_name}/{sid}/{module}/demos{di}/in{ii}",
                        "adapter": adapter_name,
                        "signature": {"spec": spec, "instructions": instr, "descs": descs, "module": module},
                        "demos": demos,
                        "inputs": inputs,
                        "expected_messages": msgs,
                    })
    return cases


PARSE = [
    # (spec, completions for chat, completions for json)
    ("question -> answer", [
        "[[ ## answer ## ]]\nParis",
        "[[ ## answer ## ]] Paris on the same line\nmore",
        "  [[ ## answer ## ]]   indented header",
        "preamble\n[[ ## answer ## ]]\n\n  spaced  \n\n",
        "[[ ## Answer ## ]]\nwrong case",
        "[[ ## answer ## ]]\nA[[ ## completed ## ]]",
        "",
        "[[ ## answer ## ]]\r\nwindows\r\nlines",
    ], ['{"answer": "Paris"}', '```json\n{"answer": "x"}\n```', '{"answer": 5}', '["not", "obj"]', 'nothing', '{"other": 1}',
        'pre {"answer": "a", "extra": 1} post {"answer": "b"}', "{'answer': None}"]),
    ("q -> n: int", ["[[ ## n ## ]]\n42", "[[ ## n ## ]]\n-3", "[[ ## n ## ]]\n4.0", "[[ ## n ## ]]\n4.5", "[[ ## n ## ]]\n1_000",
                     "[[ ## n ## ]]\n\"7\"", "[[ ## n ## ]]\nseven", "[[ ## n ## ]]\n[1]", "[[ ## n ## ]]\nTrue", "[[ ## n ## ]]\n 12 "],
     ['{"n": 42}', '{"n": "42"}', '{"n": 4.0}', '{"n": 4.2}', '{"n": true}', '{"n": null}']),
    ("q -> x: float", ["[[ ## x ## ]]\n3", "[[ ## x ## ]]\n.5", "[[ ## x ## ]]\n1e3", "[[ ## x ## ]]\n-0.25", "[[ ## x ## ]]\nabout 3",
                       "[[ ## x ## ]]\n'2.5'", "[[ ## x ## ]]\n3.14159"],
     ['{"x": 3}', '{"x": "2.5"}', '{"x": "two"}']),
    ("q -> ok: bool", ["[[ ## ok ## ]]\nTrue", "[[ ## ok ## ]]\nfalse", "[[ ## ok ## ]]\nYes", "[[ ## ok ## ]]\nno", "[[ ## ok ## ]]\n1",
                       "[[ ## ok ## ]]\n0", "[[ ## ok ## ]]\nt", "[[ ## ok ## ]]\nmaybe", "[[ ## ok ## ]]\n2"],
     ['{"ok": true}', '{"ok": "False"}', '{"ok": 1}', '{"ok": "nope"}']),
    ("q -> tags: list[str]", ["[[ ## tags ## ]]\n[\"a\", \"b\"]", "[[ ## tags ## ]]\n['a', 'b',]", "[[ ## tags ## ]]\n[]",
                              "[[ ## tags ## ]]\n[1, 2]", "[[ ## tags ## ]]\nText [\"x\"] text", "[[ ## tags ## ]]\n[\"a\", \"b\""],
     ['{"tags": ["a"]}', '{"tags": "[\\"a\\"]"}', '{"tags": []}', '{"tags": "a, b"}']),
    ("q -> nums: list[int]", ["[[ ## nums ## ]]\n[1, 2, 3]", "[[ ## nums ## ]]\n[1, \"2\"]", "[[ ## nums ## ]]\n1, 2", "[[ ## nums ## ]]\n(1, 2)"],
     ['{"nums": [1, 2]}', '{"nums": ["3"]}']),
    ("q -> d: dict[str, int]", ["[[ ## d ## ]]\n{\"a\": 1}", "[[ ## d ## ]]\n{'a': 1, 'b': 2,}", "[[ ## d ## ]]\n{a: 1}", "[[ ## d ## ]]\n{}",
                                "[[ ## d ## ]]\n{\"a\": \"x\"}"],
     ['{"d": {"a": 1}}', '{"d": {"a": "2"}}', '{"d": "{\\"a\\": 3}"}']),
    ("q -> label: Literal['yes', 'no']", ["[[ ## label ## ]]\nyes", "[[ ## label ## ]]\n\"no\"", "[[ ## label ## ]]\nLiteral['no']",
                                          "[[ ## label ## ]]\nstr['yes']", "[[ ## label ## ]]\nYes", "[[ ## label ## ]]\n yes ", "[[ ## label ## ]]\nyes."],
     ['{"label": "yes"}', '{"label": "YES"}', '{"label": "\'no\'"}']),
    ("q -> k: Literal[1, 2, 3]", ["[[ ## k ## ]]\n2", "[[ ## k ## ]]\n'3'", "[[ ## k ## ]]\n4"], ['{"k": 2}', '{"k": "1"}', '{"k": 2.0}']),
    ("q -> a: Optional[str], b: int | None", ["[[ ## a ## ]]\nx\n[[ ## b ## ]]\n3", "[[ ## b ## ]]\nNone", "[[ ## a ## ]]\nNone",
                                              "nothing at all", "[[ ## b ## ]]\nnull", "[[ ## b ## ]]\nabc"],
     ['{"a": "x", "b": 3}', '{}', '{"b": null}', '{"a": null, "b": "4"}']),
    ("q -> v: Union[int, str]", ["[[ ## v ## ]]\n5", "[[ ## v ## ]]\nfive", "[[ ## v ## ]]\n5.5"], ['{"v": 5}', '{"v": "five"}']),
    ("q -> meta: dict[str, Any]", ["[[ ## meta ## ]]\n{\"a\": [1, {\"b\": null}]}", "[[ ## meta ## ]]\nnot json"], ['{"meta": {"x": true}}']),
    ("q -> reasoning, answer", ["[[ ## reasoning ## ]]\nthink\n\n[[ ## answer ## ]]\n42\n\n[[ ## completed ## ]]",
                                "[[ ## answer ## ]]\nfirst\n[[ ## reasoning ## ]]\norder swapped",
                                "[[ ## reasoning ## ]]\nonly reasoning"],
     ['{"reasoning": "r", "answer": "a"}', '{"answer": "a"}']),
    ("q -> pair: tuple[int, str]", ["[[ ## pair ## ]]\n[1, \"a\"]", "[[ ## pair ## ]]\n[1]"], ['{"pair": [2, "b"]}']),
]


def parse_cases(adapter_name, adapter):
    cases = []
    for pi, (spec, chat_completions, json_completions) in enumerate(PARSE):
        sig = dspy.Signature(spec)
        completions = chat_completions if adapter_name == "chat" else json_completions
        for ci, completion in enumerate(completions):
            case = {
                "id": f"extra/parse/{adapter_name}/{pi}/{ci}",
                "adapter": adapter_name,
                "signature": {"spec": spec, "instructions": None, "descs": {}, "module": "predict"},
                "completion": completion,
            }
            try:
                out = adapter.parse(sig, completion)
                case["expected_outputs"] = json.loads(json.dumps(out, default=str))
            except Exception as e:  # noqa: BLE001 - DSPy raised: record the error kind
                case["expected_error"] = type(e).__name__
            cases.append(case)
    return cases


def main():
    os.makedirs(OUT, exist_ok=True)
    header = {"header": {"dspy_version": dspy.__version__, "generator": "scripts/gen_conformance.py"}}
    for name, cases in [
        ("chat_format", format_cases("chat", ChatAdapter())),
        ("json_format", format_cases("json", JSONAdapter())),
        ("chat_parse", parse_cases("chat", ChatAdapter())),
        ("json_parse", parse_cases("json", JSONAdapter())),
    ]:
        path = os.path.join(OUT, name + ".jsonl")
        with open(path, "w", encoding="utf-8") as f:
            f.write(json.dumps(header) + "\n")
            for c in cases:
                f.write(json.dumps(c, ensure_ascii=False) + "\n")
        print(f"{path}: {len(cases)} cases")


if __name__ == "__main__":
    main()
