#!/usr/bin/env bash
# Side-by-side throughput: a peer (PyTorch, or Keras 3 on JAX or TensorFlow, from
# ../shared/bench/peers-python) and strata on the same machine and protocol, alternating
# peer, strata, peer, strata, ... RUNS times; prints the medians and the ratios.
#   scripts/bench-side-by-side.sh cnn                         (PyTorch, one run each)
#   PEER=jax RUNS=3 scripts/bench-side-by-side.sh lstm        (Keras on JAX, medians of 3)
#   scripts/bench-side-by-side.sh lenet5 --replicas 2         (further arguments go to `strata bench`)
# Workloads: mlp lenet5 cnn lstm resnet20 resnet20-rgb32 (W1-W6; the Keras script has no W6).
# PEER: torch (default), jax, tf. RUNS: runs per side (default 1). STRATA_BIN: the strata
# binary (default: target/release/strata, built here). PEERS_VENV: the peers' virtual
# environment (default ../shared/bench/peers-python/.venv, from its requirements*.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
workload=${1:?workload: mlp lenet5 cnn lstm resnet20 resnet20-rgb32}
shift
extra=("$@")
declare -A W=([mlp]=W1 [lenet5]=W2 [cnn]=W3 [lstm]=W4 [resnet20]=W5 [resnet20-rgb32]=W6)
peer_id=${W[$workload]:?unknown workload $workload}
peer=${PEER:-torch}
runs=${RUNS:-1}
peers_src=$(cd ../shared/bench/peers-python && pwd)
venv=${PEERS_VENV:-$peers_src/.venv}
case $peer in
  torch) peer_cmd=(bench_torch.py --workload "$peer_id" --part throughput) ;;
  jax | tf)
    backend=$([ "$peer" = jax ] && echo jax || echo tensorflow)
    peer_cmd=(bench_keras.py --workload "$peer_id" --backend "$backend" --part throughput) ;;
  *) echo "PEER must be torch, jax or tf (got $peer)" >&2; exit 2 ;;
esac
if [ -z "${STRATA_BIN:-}" ]; then cargo build --release -q -p strata-cli; STRATA_BIN=target/release/strata; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$peers_src"/*.py "$work"/
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), family $(lscpu | sed -n 's/^CPU family: *//p') model $(lscpu | sed -n 's/^Model: *//p'); $(grep -o -w -E 'avx512f|avx2' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$runs"); do
  (cd "$work" && BENCH_THREADS=2 "$venv/bin/python" "${peer_cmd[@]}" >/dev/null 2>"$work/peer.err") ||
    { cat "$work/peer.err" >&2; exit 1; }
  cp "$work/results/$(ls "$work/results" | grep -F "${peer_id}__throughput.json" | head -1)" "$work/peer-$i.json"
  "$STRATA_BIN" bench --workload "$workload" "${extra[@]}" --json | tail -1 >"$work/strata-$i.json"
done
python3 - "$work" "$runs" "$peer" <<'PY'
import json, statistics, sys
work, runs, peer = sys.argv[1], int(sys.argv[2]), sys.argv[3]
p = [json.load(open(f"{work}/peer-{i}.json")) for i in range(1, runs + 1)]
s = [json.load(open(f"{work}/strata-{i}.json")) for i in range(1, runs + 1)]
med = lambda xs: statistics.median(x for x in xs if x is not None) if any(x is not None for x in xs) else float("nan")
pt, pi = med(r["train_img_s"] for r in p), med(r["infer_img_s"] for r in p)
st, si = med(r["train_images_per_sec"] for r in s), med(r["infer_images_per_sec"] for r in s)
prss, srss = med(r.get("peak_rss_total_mib") for r in p), med(r.get("peak_rss_mib") for r in s)
print(f"{'':10} {'train img/s':>12} {'infer img/s':>12} {'peak RSS MiB':>13}   (medians of {runs})")
print(f"{peer:10} {pt:12.0f} {pi:12.0f} {prss:13.0f}   train runs {[round(r['train_img_s']) for r in p]}")
print(f"{'strata':10} {st:12.0f} {si:12.0f} {srss:13.0f}   train runs {[round(r['train_images_per_sec']) for r in s]}")
print(f"{'ratio':10} {st / pt:11.2f}x {si / pi:11.2f}x")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
