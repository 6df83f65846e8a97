#!/usr/bin/env python3
"""The import graph of each crate, checked: modules of different folders import each other
in one direction only, down the data flow. Exits 1 (and says which `use` breaks the rule)
when a module imports one above it, or when folders import each other in a circle.

    python3 scripts/check-imports.py          # check
    python3 scripts/check-imports.py --graph  # also print who imports whom
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Lowest first: a module may import those listed before it (and itself), never after.
LAYERS = {
    "crates/strata-core/src": ["error", "rng", "memory", "tensor", "autograd", "lib"],
    "crates/strata/src": [
        # strata-core's modules, re-exported at the crate root
        "error", "rng", "tensor", "autograd",
        "io",           # files: safetensors, atomic writes
        "data",         # datasets and their formats
        "metrics",      # figures of predictions
        "nn",           # layers
        "loss",         # losses over network outputs
        "optim",        # optimizers and schedules
        "distributed",  # communicators, gradient buffers
        "model",        # Sequential, fit, evaluate, saving, training configuration
        "onnx",         # ONNX export of saved models
        "plot",         # charts of histories and metrics
        "inspect",      # pictures of a trained classifier (saliency, embeddings, mistakes)
        "pretrain",     # RBMs, DBNs, autoencoders and their pictures
        "baseline",     # k-NN, perceptron, logistic regression
        "zoo",          # named models, spec files, workloads
        "text",         # language models
        "experiment",   # learners, data preparation, cross-validation
        "bench",        # the benchmark protocol
        "lab",          # the lectures' experiments, end to end
        "lib",          # the crate root (re-exports, prelude)
    ],
}
# Names the crate root re-exports from a module, as `crate::Name`.
ROOT_NAMES = {"Error": "error", "Result": "error", "Rng": "rng", "Tensor": "tensor", "Dataset": "data", "Target": "data"}


def top_module(src, path):
    rel = os.path.relpath(path, src)
    head = rel.split(os.sep)[0]
    return head[:-3] if head.endswith(".rs") else head


def code_lines(text):
    """The text without comments (doc comments mention other modules freely)."""
    return "\n".join(l.split("//")[0] for l in text.splitlines())


def imports_of(text):
    """Top-level module names a file reaches with `crate::`."""
    found = set()
    text = code_lines(text)
    for m in re.finditer(r"crate::\{([^;]*?)\}", text, re.S):
        for name in re.findall(r"(?:^|[,{\s])(\w+)", m.group(1)):
            found.add(name)
    for m in re.finditer(r"crate::(\w+)", text):
        found.add(m.group(1))
    return found


def check(src, order):
    rank = {m: i for i, m in enumerate(order)}
    edges = {}
    bad = []
    for dirpath, _, files in os.walk(os.path.join(ROOT, src)):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(dirpath, f)
            me = top_module(os.path.join(ROOT, src), path)
            if me == "main":
                continue
            if me not in rank:
                bad.append(f"{src}: module '{me}' is not placed in the layer order of scripts/check-imports.py")
                continue
            for name in imports_of(open(path).read()):
                target = ROOT_NAMES.get(name, name)
                if target not in rank or target == me:
                    continue
                edges.setdefault(me, set()).add(target)
                if rank[target] > rank[me]:
                    bad.append(f"{os.path.relpath(path, ROOT)}: '{me}' imports '{target}', which sits above it")
    # circles between folders (none can exist when every edge points down, but say so plainly)
    seen, stack, cycles = set(), [], []

    def visit(n):
        if n in stack:
            cycles.append(stack[stack.index(n):] + [n])
            return
        if n in seen:
            return
        seen.add(n)
        stack.append(n)
        for t in sorted(edges.get(n, ())):
            visit(t)
        stack.pop()

    for n in sorted(edges):
        visit(n)
    bad += [f"{src}: import circle " + " -> ".join(c) for c in cycles]
    return edges, bad


def main():
    problems = []
    for src, order in LAYERS.items():
        edges, bad = check(src, order)
        problems += bad
        if "--graph" in sys.argv:
            print(src)
            for m in order:
                if m in edges:
                    print(f"  {m} -> {', '.join(sorted(edges[m], key=order.index))}")
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    print(f"imports point down the data flow in {', '.join(LAYERS)}")


if __name__ == "__main__":
    main()
