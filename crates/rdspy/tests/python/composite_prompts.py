"""Record DSPy 3.4.1 prompts for Refine (feedback + hinted retry) and MultiChainComparison.

Run: /work/dspy-venv/bin/python crates/rdspy/tests/python/composite_prompts.py
"""
import dspy, json
from dspy.utils import DummyLM
from dspy.clients.base_lm import GLOBAL_HISTORY

out = {}
lm = DummyLM([{"reasoning": "I think", "answer": 7}, {"discussion": "bad", "advice": {"predict": "Answer with digits."}}, {"reasoning": "ok", "answer": 5}])
dspy.configure(lm=lm)
qa = dspy.ChainOfThought("question, context: list[str] -> answer: int")
r = dspy.Refine(module=qa, N=2, reward_fn=lambda a, p: 0.0, threshold=1.0)
r.module_code = "PROGRAM CODE"
r.reward_fn_code = "REWARD CODE"
try:
    r(question="2+3?", context=["a", "b"])
except Exception as e:
    print("err", e)
out["refine"] = [h["messages"] for h in GLOBAL_HISTORY]
GLOBAL_HISTORY.clear()
lm = DummyLM([{"rationale": "2+2 is 4", "answer": "4"}])
dspy.configure(lm=lm)
m = dspy.MultiChainComparison("question -> answer", M=3)
comps = [{"reasoning": "add two and two\nmore", "answer": "4"}, {"rationale": " guess ", "answer": 5}, {"reasoning": "x", "answer": True}]
m(completions=comps, question="2+2?")
out["mcc"] = GLOBAL_HISTORY[-1]["messages"]
out["mcc_state"] = m.dump_state()
import pathlib
dest = pathlib.Path(__file__).parent.parent / "fixtures/composite/dspy341_prompts.json"
json.dump(out, open(dest, "w"), indent=1, ensure_ascii=False)
print(len(out["refine"]))
print(out["refine"][2][1]["content"])
