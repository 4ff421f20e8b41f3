"""The OpenAI Python client and Python DSPy 3.4.1 against an rdspy serve-model server.

Run by tests/python_clients.rs: `python clients.py BASE_URL API_KEY WITH_EMBEDDINGS`. Prints one
JSON object (the last stdout line) with what the clients got; the Rust test judges it.
"""

import json
import sys
from typing import Literal

import dspy
import openai

base, key, with_embeddings = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
out = {}

# --- the OpenAI client ---
client = openai.OpenAI(base_url=base, api_key=key, max_retries=0)
out["models"] = [m.id for m in client.models.list().data]
r = client.chat.completions.create(
    model="smollm2", messages=[{"role": "user", "content": "Say hello."}], max_tokens=8, temperature=0
)
out["chat"] = {
    "content": r.choices[0].message.content,
    "finish_reason": r.choices[0].finish_reason,
    "completion_tokens": r.usage.completion_tokens,
}
try:
    openai.OpenAI(base_url=base, api_key="wrong", max_retries=0).models.list()
    out["wrong_key"] = None
except openai.AuthenticationError as e:
    out["wrong_key"] = e.status_code
try:
    client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "word " * 6000}])
    out["too_long"] = None
except openai.BadRequestError as e:
    out["too_long"] = {"status": e.status_code, "code": e.code}
if with_embeddings:
    sentences = ["A man is eating food.", "A man is eating a piece of bread.", "The stock market fell sharply today."]
    e = client.embeddings.create(model="all-MiniLM-L6-v2", input=sentences)
    out["embeddings"] = [d.embedding for d in e.data]

# --- Python DSPy: dspy.LM("openai/...") pointed at the server ---
lm = dspy.LM("openai/smollm2", api_base=base, api_key=key, cache=False, temperature=0.0, max_tokens=64, num_retries=0)
dspy.configure(lm=lm)


class Sentiment(dspy.Signature):
    """Classify the sentiment of a movie review sentence."""

    sentence: str = dspy.InputField()
    sentiment: Literal["positive", "negative"] = dspy.OutputField()


def last_output():
    o = lm.history[-1]["outputs"][0]
    return o if isinstance(o, str) else o.get("text")


predict = dspy.Predict(Sentiment)
pred = predict(sentence="a gorgeous, witty, seductive movie.")
out["predict_chat"] = {"sentiment": pred.sentiment, "raw": last_output()}
with dspy.context(adapter=dspy.JSONAdapter()):
    pred = predict(sentence="the plot is a dull, lifeless mess.")
out["predict_json"] = {"sentiment": pred.sentiment, "raw": last_output()}
pred = dspy.ChainOfThought(Sentiment)(sentence="an utterly charming and hilarious film.")
out["chain_of_thought"] = {"sentiment": pred.sentiment, "reasoning": pred.reasoning}
out["dspy_calls"] = len(lm.history)
print(json.dumps(out))
