#!/usr/bin/env python3
"""Runs an ONNX model exported by `strata export` in onnxruntime and compares its output with
strata's on the same inputs.

    .venv-onnx/bin/python scripts/onnx-check.py MODEL.onnx INPUT.npy EXPECTED.npy [--rtol 1e-4]

The difference is relative to the scale of strata's outputs: max |onnx - strata| divided by
max |strata| (at least 1e-6). Prints `max_rel_diff=...` and exits 1 when it exceeds --rtol,
2 on bad arguments or files (one line naming the file).
"""
import argparse
import sys

import numpy as np


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("input")
    p.add_argument("expected")
    p.add_argument("--rtol", type=float, default=1e-4)
    a = p.parse_args()
    import onnxruntime as ort

    try:
        x = np.load(a.input).astype(np.float32)
    except Exception as e:  # noqa: BLE001 - one line naming the file
        print(f"error: {a.input}: {e}", file=sys.stderr)
        sys.exit(2)
    try:
        want = np.load(a.expected).astype(np.float32)
    except Exception as e:  # noqa: BLE001
        print(f"error: {a.expected}: {e}", file=sys.stderr)
        sys.exit(2)
    try:
        sess = ort.InferenceSession(a.model, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001
        print(f"error: {a.model}: {str(e).splitlines()[0] if str(e) else e}", file=sys.stderr)
        sys.exit(2)
    name = sess.get_inputs()[0].name
    (got,) = sess.run(None, {name: x})
    if got.shape != want.shape:
        print(f"error: {a.model}: output shape {got.shape}, strata's is {want.shape}", file=sys.stderr)
        sys.exit(1)
    scale = max(float(np.abs(want).max()) if want.size else 0.0, 1e-6)
    rel = float(np.abs(got - want).max()) / scale if want.size else 0.0
    print(f"max_rel_diff={rel:.3e} scale={scale:.3e} outputs={list(want.shape)}")
    sys.exit(0 if rel <= a.rtol else 1)


if __name__ == "__main__":
    main()
