#!/usr/bin/env bash
# Data-parallel throughput on one machine: 2 MPI ranks x 1 thread against 1 process x 2
# threads, same global batch, same binary (built with --features mpi; the single process
# does not start MPI). Prints each run's per-epoch img/s (epoch 1 is warm-up and dropped),
# the median, and rank 0's share of training time spent in the gradient all-reduce.
#   scripts/mpi-bench.sh WORKLOAD STEPS_PER_EPOCH EPOCHS [STRATA_BINARY]
set -euo pipefail
W=${1:-lenet5}; STEPS=${2:-150}; EPOCHS=${3:-4}; B=${4:-target/release/strata}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
OUT=$(mktemp -d)
common=(train --model "$W" --data fashion-mnist --epochs "$EPOCHS" --steps-per-epoch "$STEPS" --batch-size 128 --seed 1 --quiet --json)
summarize() {
  python3 -c '
import json, sys, statistics
r = json.loads(sys.stdin.read().strip().splitlines()[-1])
ips = [e["images_per_sec"] for e in r["history"]][1:]
d = r.get("distributed") or {}
share = d.get("allreduce_share")
kib = d.get("allreduce_bytes_per_step", 0) / 1024
print(f"{sys.argv[1]:<22} img/s per epoch {[round(x) for x in ips]}  median {statistics.median(ips):.0f}"
      + (f"  all-reduce {100*share:.1f}% of training time, {kib:.0f} KiB/step" if share is not None else ""))
' "$1"
}
echo "load before: $(uptime | sed 's/.*load/load/')"
RAYON_NUM_THREADS=2 "$B" "${common[@]}" --out "$OUT/one" | summarize "1 process x 2 threads"
echo "load: $(uptime | sed 's/.*load/load/')"
RAYON_NUM_THREADS=1 mpirun -n 2 -x RAYON_NUM_THREADS "$B" "${common[@]}" --out "$OUT/two" --distributed | summarize "2 ranks x 1 thread"
echo "load after: $(uptime | sed 's/.*load/load/')"
rm -rf "$OUT"
