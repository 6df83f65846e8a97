#!/usr/bin/env bash
# Data-parallel throughput on one machine: 2 MPI ranks x 1 thread against 1 process x 2
# threads, same global batch, same binary (built with --features mpi; the single process
# does not start MPI). Prints each run's per-epoch img/s (epoch 1 is warm-up and dropped),
# the median, and rank 0's share of training time spent in the gradient all-reduce.
#   scripts/mpi-bench.sh WORKLOAD STEPS_PER_EPOCH EPOCHS [STRATA_BINARY] [one|two|both]
set -euo pipefail
W=${1:-lenet5}; STEPS=${2:-150}; EPOCHS=${3:-4}; B=$(realpath "${4:-target/release/strata}"); WHICH=${5:-both}
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
# The machine is shared: sample every process once a second while a run lasts, and report
# the CPU that processes other than this benchmark's took (100% = one core).
others() {
  awk -v me="$B" '/^top -/ {n++}
       $1 ~ /^[0-9]+$/ && index($0, me) == 0 && $12 !~ /^(mpirun|orted|top|prterun)$/ {cpu[n] += $9}
       END {s = 0; for (i in cpu) s += cpu[i]; printf "other processes %.0f%% CPU (mean of %d samples)", (n ? s / n : 0), n}' "$1"
}
measure() {
  local label=$1; shift
  top -b -c -d 1 -w 512 > "$OUT/top" & local top_pid=$!
  "$@" | summarize "$label"
  kill "$top_pid"; wait "$top_pid" 2>/dev/null || true
  echo "    $(uptime | sed 's/.*load/load/'); $(others "$OUT/top")"
}
[ "$WHICH" = two ] || measure "1 process x 2 threads" env RAYON_NUM_THREADS=2 "$B" "${common[@]}" --out "$OUT/one"
[ "$WHICH" = one ] || measure "2 ranks x 1 thread" env RAYON_NUM_THREADS=1 mpirun -n 2 -x RAYON_NUM_THREADS "$B" "${common[@]}" --out "$OUT/two" --distributed
rm -rf "$OUT"
