"""Python DSPy 3.4.1's KNN (what KNNFewShot retrieves with) over an rdspy serve-model's
/v1/embeddings, for tests/knn.rs to compare with rdspy's choice of neighbours.

`python knn_neighbours.py BASE_URL API_KEY K TRAIN_JSON QUERIES_JSON`: TRAIN_JSON is a list of
{"sentence", "sentiment"} rows, QUERIES_JSON a list of sentences. Prints one JSON line: for each
query, the sentences of its K neighbours, nearest first.
"""

import json
import sys

import dspy
from dspy.predict.knn import KNN

base, key, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
train = [dspy.Example(**row).with_inputs("sentence") for row in json.loads(sys.argv[4])]
queries = json.loads(sys.argv[5])
embedder = dspy.Embedder("openai/all-MiniLM-L6-v2", api_base=base, api_key=key, caching=False)
knn = KNN(k, train, vectorizer=embedder)
print(json.dumps([[ex.sentence for ex in knn(sentence=q)] for q in queries]))
