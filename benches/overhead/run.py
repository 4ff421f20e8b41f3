#!/usr/bin/env python3
"""Overhead benchmark: the same ChainOfThought workload in rdspy and in Python DSPy 3.4.1,
in one run, against the same mock OpenAI-compatible server (`rdspy mock-server`).

Reports CPU time per call (user+sys of the client process / calls) and calls/s, side by side.

    python3 benches/overhead/run.py            # builds what it needs; creates .venv-dspy if needed
    DSPY_PYTHON=/path/to/python python3 benches/overhead/run.py   # reuse a python with dspy==3.4.1
"""
import json
import os
import resource
import socket
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CALLS = int(os.environ.get("CALLS", "2000"))


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, cwd=ROOT, **kw)


def dspy_python():
    py = os.environ.get("DSPY_PYTHON")
    if py:
        return py
    venv = os.path.join(ROOT, ".venv-dspy")
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        sh([sys.executable, "-m", "venv", venv])
        sh([py, "-m", "pip", "install", "-q", "dspy==3.4.1"])
    return py


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def timed(cmd):
    """Run a client; return its JSON line. Each client measures the user+sys CPU of its own
    process around the workload only (so Python's ~2 s `import dspy` and rdspy's data loading
    are both left out), and the driver also records the whole process's CPU from rusage."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def cli_dataset(n):
    """HotPotQA questions with their supporting paragraphs as a JSONL file of n rows (cycled),
    the same inputs the two clients build in memory, for `rdspy eval --data`."""
    root = os.path.join(ROOT, "data", "hotpotqa")
    corpus = {}
    with open(os.path.join(root, "corpus.jsonl")) as f:
        for line in f:
            d = json.loads(line)
            corpus[d["title"]] = d["text"]
    qs = [json.loads(line) for line in open(os.path.join(root, "questions.jsonl"))]
    os.makedirs(os.path.join(ROOT, "bench-out"), exist_ok=True)
    path = os.path.join(ROOT, "bench-out", f"overhead-hotpotqa-{n}.jsonl")
    with open(path, "w") as f:
        for i in range(n):
            q = qs[i % len(qs)]
            ctx = [corpus[t] for t in q["supporting_titles"] if t in corpus]
            f.write(json.dumps({"context": ctx, "question": q["question"], "answer": q["answer"]}) + "\n")
    return path


def cli_eval(url, data, conc):
    """`rdspy eval --json` as a user runs it: whole-process CPU (start-up and data loading
    included), wall time from the driver, and the CLI's own JSON line."""
    cmd = [os.path.join(ROOT, "target", "release", "rdspy"), "eval", "--lm", "openai/mock", "--api-base", url,
           "-s", "context: list[str], question -> answer", "--module", "cot", "--data", data, "--metric", "exact_match",
           "--no-cache", "--concurrency", str(conc), "--max-errors", "1000000", "--quiet", "--json"]
    start = time.time()
    r = timed(cmd)
    r["wall_s"] = time.time() - start
    return r


def main():
    # the default CLI (the one quickstart.sh and the tests build), so this never swaps target/release/rdspy
    sh(["cargo", "build", "--release", "-q", "-p", "rdspy-cli"])
    sh(["cargo", "build", "--release", "-q", "-p", "rdspy", "--example", "overhead_client"])
    rust = [os.path.join(ROOT, "target", "release", "examples", "overhead_client")]
    py = dspy_python()
    rows = []
    cli_rows = []
    cli_data = cli_dataset(CALLS)
    for latency in (0, 100):
        port = free_port()
        server = subprocess.Popen([os.path.join(ROOT, "target", "release", "rdspy"), "mock-server", "--port", str(port), "--latency-ms", str(latency)],
                                  stdout=subprocess.DEVNULL)
        time.sleep(0.5)
        url = f"http://127.0.0.1:{port}/v1"
        try:
            for conc in (16, 64):
                r = timed(rust + [url, str(CALLS), str(conc)])
                p = timed([py, os.path.join(ROOT, "benches", "overhead", "dspy_client.py"), url, str(CALLS), str(conc)])
                rows.append((latency, conc, CALLS, r, p))
                c = cli_eval(url, cli_data, conc)
                cli_rows.append((latency, conc, CALLS, c, p))
                print(f"latency {latency} ms, concurrency {conc}: rdspy {r} | dspy {p}", file=sys.stderr)
            for conc in (512, 1024):
                n = CALLS * 10
                r = timed(rust + [url, str(n), str(conc)])
                rows.append((latency, conc, n, r, None))
                print(f"latency {latency} ms, concurrency {conc}: rdspy {r}", file=sys.stderr)
        finally:
            server.terminate()
            server.wait()
    print("| server latency | concurrency | calls | rdspy CPU/call | DSPy CPU/call | CPU ratio | rdspy calls/s | DSPy calls/s | errors (rdspy/DSPy) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for latency, conc, n, r, p in rows:
        rc = r["cpu_s"] / n * 1e6
        rt = n / r["wall_s"]
        if p:
            pc = p["cpu_s"] / n * 1e6
            print(f"| {latency} ms | {conc} | {n} | {rc:.0f} µs | {pc:.0f} µs | 1/{pc / rc:.0f} | {rt:.0f} | {n / p['wall_s']:.0f} | {r['errors']}/{p['errors']} |")
        else:
            print(f"| {latency} ms | {conc} | {n} | {rc:.0f} µs | — | — | {rt:.0f} | — | {r['errors']}/— |")
    print()
    print("Through the CLI (`rdspy eval --json`, whole process incl. start-up and data loading) vs DSPy's workload CPU:")
    print()
    print("| server latency | concurrency | calls | `rdspy eval` CPU/call | DSPy CPU/call | CPU ratio | `rdspy eval` calls/s | DSPy calls/s | errors (rdspy/DSPy) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for latency, conc, n, c, p in cli_rows:
        cc = c["process_cpu_s"] / n * 1e6
        pc = p["cpu_s"] / n * 1e6
        print(f"| {latency} ms | {conc} | {n} | {cc:.0f} µs | {pc:.0f} µs | 1/{pc / cc:.0f} | {n / c['wall_s']:.0f} | {n / p['wall_s']:.0f} | {c['errors']}/{p['errors']} |")


if __name__ == "__main__":
    main()
