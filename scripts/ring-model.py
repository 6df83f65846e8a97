#!/usr/bin/env python3
"""Ring all-reduce cost model for strata's data-parallel training (BENCHMARKS.md).

A ring all-reduce of n bytes on p ranks costs T(p, n) = 2(p-1) * alpha + 2(p-1)/p * n / B.
On p = 2 that is 2 alpha + n / B, so a fit t = a + n / B of measured 2-rank times
(crates/strata/examples/allreduce_sizes.rs) gives alpha = a / 2 and B.

Each step is compute on the rank's slice, then the all-reduce (strata does not overlap
them), so with a fixed per-rank batch (weak scaling) the efficiency on p ranks is
    E(p) = t_compute / (t_compute + T(p, n))
and throughput is p * local_batch / (t_compute + T(p, n)).

usage: ring-model.py ALPHA_US GBPS NAME:BYTES:COMPUTE_MS [NAME:BYTES:COMPUTE_MS ...]
"""
import sys

alpha = float(sys.argv[1]) * 1e-6
bw = float(sys.argv[2]) * 1e9
ranks = [2, 4, 8, 16, 32, 64, 128]
print(f"alpha {alpha * 1e6:.1f} us, B {bw / 1e9:.2f} GB/s")
print("| workload | per step | " + " | ".join(f"p={p}" for p in ranks) + " |")
print("|---|---|" + "---|" * len(ranks))
for spec in sys.argv[3:]:
    name, nbytes, comp_ms = spec.split(":")
    n, comp = float(nbytes), float(comp_ms) * 1e-3
    cells = []
    for p in ranks:
        t = 2 * (p - 1) * alpha + 2 * (p - 1) / p * n / bw
        cells.append(f"{t * 1e3:.2f} ms, {100 * comp / (comp + t):.0f}%")
    print(f"| {name} ({n / 2**20:.2f} MiB) | {comp * 1e3:.1f} ms compute | " + " | ".join(cells) + " |")
