#!/usr/bin/env python3
"""Data-parallel training across network-namespace hosts (scripts/multihost.sh) under link
conditions, against the ring all-reduce cost model (BENCHMARKS.md, "Across hosts").

For each link setting and model it trains a few steps on HOSTS hosts (one rank of one thread
each) and reads rank 0's `train --json`: time per step, all-reduce time per step (including
the wait for the slower rank) and bytes per step. The prediction for a ring all-reduce of n
bytes over p ranks is T = 2(p-1)*alpha + 2(p-1)/p * n/B, with alpha = the link's added one-way
delay + the software latency measured on plain links (ALPHA0_US), and B = the link's rate
(or B0 on plain links; both from examples/allreduce_sizes run through multihost.sh --exec).

usage: sudo STRATA_BIN=... scripts/multihost-bench.py [--hosts 2] [--alpha0-us 60] [--gbps0 1.0]
"""
import argparse
import json
import os
import subprocess
import sys

# (name, multihost.sh flags, added one-way delay in s, rate in bit/s). Rates use `--rate`
# (tc tbf), which every kernel has; `--netem` adds latency where the kernel has netem.
LINKS = [("veth", [], 0.0, None), ("10 Gbit/s", ["--rate", "10gbit"], 0.0, 10e9), ("1 Gbit/s", ["--rate", "1gbit"], 0.0, 1e9)]
# Steps per model: enough for a stable median, few enough for minutes in all.
MODELS = [("mlp", 60), ("lenet5", 40), ("cnn", 8), ("resnet20", 8), ("lstm", 20)]


def run(hosts, link, model, steps, extra=()):
    cmd = ["scripts/multihost.sh", str(hosts)] + link
    cmd += ["--model", model, "--epochs", "1", "--steps-per-epoch", str(steps), "--quiet", "--out", f"/tmp/multihost-bench/{model}"]
    cmd += list(extra)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=2)
    ap.add_argument("--alpha0-us", type=float, default=60.0, help="software latency per message without netem")
    ap.add_argument("--gbps0", type=float, default=1.0, help="bandwidth without netem, GB/s")
    ap.add_argument("--models", default=",".join(m for m, _ in MODELS))
    ap.add_argument("--links", default=",".join(n for n, *_ in LINKS), help="link settings to run, by name")
    ap.add_argument("--train-flags", default="", help="more `strata train` flags, e.g. '--bucket-kib 0' (no overlap)")
    a = ap.parse_args()
    p = a.hosts
    wanted = a.models.split(",")
    print(f"{p} hosts; alpha0 {a.alpha0_us} us, B0 {a.gbps0} GB/s", file=sys.stderr)
    print("| link | model | bytes/step | step (ms) | all-reduce measured (ms) | predicted (ms) | share of step |")
    print("|---|---|---|---|---|---|---|")
    for name, link, delay, rate in LINKS:
        if name not in a.links.split(","):
            continue
        alpha = a.alpha0_us * 1e-6 + delay
        # A link cannot carry more than the plain veth path does on this machine.
        bw = min(rate / 8, a.gbps0 * 1e9) if rate else a.gbps0 * 1e9
        for model, steps in MODELS:
            if model not in wanted:
                continue
            j = run(p, link, model, steps, a.train_flags.split())
            d = j["distributed"]
            calls = max(d.get("allreduce_steps", d["allreduce_calls"]), 1)
            n = d["allreduce_bytes_per_step"]
            step_ms = 1e3 * j["train_seconds"] / calls
            ar_ms = 1e3 * d["allreduce_seconds"] / calls
            pred_ms = 1e3 * (2 * (p - 1) * alpha + 2 * (p - 1) / p * n / bw)
            print(f"| {name} | {model} | {n / 2**20:.2f} MiB | {step_ms:.1f} | {ar_ms:.1f} | {pred_ms:.1f} | {100 * ar_ms / step_ms:.0f}% |", flush=True)


if __name__ == "__main__":
    os.chdir(os.path.join(os.path.dirname(__file__), ".."))
    main()
