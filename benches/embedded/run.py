#!/usr/bin/env python3
"""SST-2 dev throughput of the embedded model, three ways, one after the other on this machine:

1. rdspy in-process (`cargo run --release -p rdspy-embedded --example bench -- N --eval-only`);
2. Python DSPy 3.4.1 calling `rdspy serve-model` (same GGUF, same engine, over HTTP);
3. Python DSPy 3.4.1 calling llama-cpp-python's OpenAI server on the same GGUF (what a Python
   user would run), when a python with `llama_cpp` is given.

    python3 benches/embedded/run.py [N]        # N dev sentences, default 200
    SETUPS=llama python3 benches/embedded/run.py 30   # only some: inproc, serve, llama (comma-separated)

Environment: DSPY_PYTHON (python with dspy==3.4.1; default .venv-dspy from scripts/setup.sh),
LLAMA_CPP_PYTHON (python with `llama-cpp-python[server]`; step 3 is skipped without it),
RDSPY_BIN (an rdspy binary with the embedded model; default: built with cargo),
RDSPY_MODELS_DIR (default ./models). Prints one JSON line per run and a Markdown table.
"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODELS = os.environ.get("RDSPY_MODELS_DIR", os.path.join(ROOT, "models"))
GGUF = os.path.join(MODELS, "SmolLM2-135M-Instruct.Q4_1.gguf")
ENV = dict(os.environ, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost", LITELLM_LOCAL_MODEL_COST_MAP="True",
           RDSPY_MODELS_DIR=MODELS)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(base, proc, timeout=120):
    """Poll GET /v1/models until the server answers (model loaded)."""
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            sys.exit(f"the server exited with {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(f"{base}/models", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    proc.kill()
    sys.exit(f"no answer from {base} within {timeout} s")


def json_line(cmd):
    out = subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, text=True, env=ENV)
    return json.loads(out.stdout.strip().splitlines()[-1])


def against_server(name, server_cmd, port, dspy_python, n):
    base = f"http://127.0.0.1:{port}/v1"
    proc = subprocess.Popen(server_cmd, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(base, proc)
        result = json_line([dspy_python, os.path.join(ROOT, "benches", "embedded", "sst2_dspy.py"), base, str(n)])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # llama_cpp.server ignores SIGTERM while it generates
            proc.kill()
            proc.wait()
    result["setup"] = name
    print(json.dumps(result), flush=True)
    return result


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    if not os.path.isfile(GGUF):
        sys.exit(f"{GGUF} is missing: run scripts/fetch-models.sh")
    dspy_python = os.environ.get("DSPY_PYTHON") or os.path.join(ROOT, ".venv-dspy", "bin", "python")
    if not os.path.isfile(dspy_python):
        sys.exit(f"no python with dspy==3.4.1 at {dspy_python}: run scripts/setup.sh or set DSPY_PYTHON")
    rdspy = os.environ.get("RDSPY_BIN")
    if not rdspy:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "rdspy-cli"], check=True, cwd=ROOT)
        rdspy = os.path.join(ROOT, "target", "release", "rdspy")

    setups = os.environ.get("SETUPS", "inproc,serve,llama").split(",")
    results = []
    # `--features embeddings`: the feature set the default CLI builds rdspy-embedded with, so cargo
    # reuses that llama.cpp build instead of compiling it again for a different feature set.
    if "inproc" in setups:
        inproc = json_line(["cargo", "run", "--release", "-q", "-p", "rdspy-embedded", "--features", "embeddings", "--example", "bench",
                            "--", str(n), "--eval-only"])
        inproc["setup"] = "rdspy, in-process (EmbeddedLM)"
        print(json.dumps(inproc), flush=True)
        results.append(inproc)

    port = free_port()
    if "serve" in setups:
        results.append(against_server("Python DSPy → rdspy serve-model", [rdspy, "serve-model", "--model", "local/smollm2-135m",
                                                                         "--port", str(port)], port, dspy_python, n))
    llama_python = os.environ.get("LLAMA_CPP_PYTHON")
    if llama_python and "llama" in setups:
        port = free_port()
        cmd = [llama_python, "-m", "llama_cpp.server", "--model", GGUF, "--model_alias", "smollm2", "--host", "127.0.0.1",
               "--port", str(port), "--n_ctx", "4096", "--n_threads", "2", "--n_threads_batch", "2", "--n_batch", "512"]
        results.append(against_server("Python DSPy → llama-cpp-python server", cmd, port, dspy_python, n))
    else:
        print("LLAMA_CPP_PYTHON not set: skipping the llama-cpp-python server", file=sys.stderr)

    print(f"\n| setup ({n} SST-2 dev sentences, ChatAdapter + 3 demos) | time | sentences/s | parsed | accuracy |")
    print("| --- | --- | --- | --- | --- |")
    for r in results:
        print(f"| {r['setup']} | {r['seconds']} s | {r['sentences_per_s']} | {r['parsed']}/{r['n']} | {r['accuracy']}% |")


if __name__ == "__main__":
    main()
