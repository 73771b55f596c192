"""Rows per second of scal3ml-eval (tract + our ONNX-ML operators) against onnxruntime (Python, one thread) on
the same models and data, side by side. Run by hand through bench/eval/run.sh (it builds the Rust side and
makes the venv from crates/eval/fixtures/requirements.txt).

The data are the committed fixtures' test rows tiled to --rows rows. Both sides run batches of 256 rows in
row order on one thread; both times include building the session/plan and every batch, and exclude reading
the files. Each figure is the best of --rounds rounds (default 3) of --repeat runs, the two sides alternating
round by round.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "crates", "eval", "fixtures")
BATCH = 256
# Models without ZipMap, so onnxruntime returns plain tensors (ZipMap's Python dicts would slow it unfairly).
CASES = ["iris_svc", "iris_gbc", "cancer_forest", "digits_mlp", "digits_cnn", "diabetes_linear", "diabetes_gbr", "diabetes_svr"]


def load(case):
    ref = json.load(open(os.path.join(FIXTURES, case + ".json")))
    if ref["data"].endswith(".npy"):
        x = np.load(os.path.join(FIXTURES, ref["data"])).astype(np.float32)
        y = np.load(os.path.join(FIXTURES, ref["data"].replace(".x.npy", ".y.npy")))
    else:
        raw = np.genfromtxt(os.path.join(FIXTURES, ref["data"]), delimiter=",", names=True, dtype=np.float64)
        names = raw.dtype.names
        label = ref["label"]
        x = np.stack([raw[n] for n in names if n != label], axis=1).astype(np.float32)
        y = raw[label]
    return ref, x, y


def ort_rows_per_s(model, x, repeat):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        for i in range(0, len(x), BATCH):
            sess.run(None, {name: x[i : i + BATCH]})
        best = min(best, time.perf_counter() - start)
    return len(x) / best


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bench-bin", required=True)
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    print(f"| model | operators | rows | scal3ml-eval rows/s | onnxruntime rows/s (1 thread) | ratio | target 0.5x |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            ref, x, y = load(case)
            reps = -(-a.rows // len(x))
            x = np.tile(x, (reps, 1))[: a.rows]
            y = np.tile(y, reps)[: a.rows]
            xp, yp = os.path.join(tmp, case + ".x.npy"), os.path.join(tmp, case + ".y.npy")
            np.save(xp, x)
            np.save(yp, y.astype(np.int64) if ref["task"] == "classification" else y.astype(np.float64))
            model = os.path.join(FIXTURES, case + ".onnx")
            # Rounds that alternate the two sides, the best of each kept: the machine's speed drifts (a VM's
            # neighbours), and alternating lets a slow spell hit both rather than one.
            ours = theirs = 0.0
            for _ in range(a.rounds):
                out = subprocess.run([a.bench_bin, model, xp, yp, str(a.repeat)], capture_output=True, text=True)
                if out.returncode != 0:
                    sys.exit(f"{case}: {out.stderr}")
                ours = max(ours, json.loads(out.stdout)["rows_per_s"])
                theirs = max(theirs, ort_rows_per_s(model, x, a.repeat))
            ratio = ours / theirs
            import onnx

            ops = sorted({n.op_type for n in onnx.load(model).graph.node})
            print(
                f"| {case} | {', '.join(ops)} | {a.rows} | {ours:,.0f} | {theirs:,.0f} | {ratio:.2f}x | "
                f"{'yes' if ratio >= 0.5 else 'no'} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
