#!/usr/bin/env bash
# Side-by-side throughput: PyTorch (../shared/bench/peers-python) then strata, same machine,
# same protocol, one after the other. Prints both and the ratios.
#   scripts/bench-vs-pytorch.sh mlp        (workloads: mlp lenet5 cnn lstm resnet20)
#   scripts/bench-vs-pytorch.sh lenet5 --replicas 2    (further arguments go to `strata bench`)
# Needs a PyTorch venv: PEERS_VENV (default /work/peers/.venv) built from
# ../shared/bench/peers-python/requirements.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
workload=${1:?workload: mlp lenet5 cnn lstm resnet20}
shift
extra=("$@")
declare -A W=([mlp]=W1 [lenet5]=W2 [cnn]=W3 [lstm]=W4 [resnet20]=W5)
peer_id=${W[$workload]:?unknown workload $workload}
venv=${PEERS_VENV:-/work/peers/.venv}
peers_src=$(cd ../shared/bench/peers-python && pwd)
work=$(mktemp -d)
cp "$peers_src"/*.py "$work"/
cargo build --release -q
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
( cd "$work" && BENCH_THREADS=2 "$venv/bin/python" bench_torch.py --workload "$peer_id" --part throughput >/dev/null )
torch_json="$work/results/pytorch__${peer_id}__throughput.json"
strata_json=$(./target/release/strata bench --workload "$workload" "${extra[@]}" --json | tail -1)
python3 - "$torch_json" "$strata_json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1])); s = json.loads(sys.argv[2])
print(f"{'':10} {'train img/s':>12} {'infer img/s':>12} {'peak RSS MiB':>13}")
print(f"{'pytorch':10} {t['train_img_s']:12.0f} {t['infer_img_s']:12.0f} {t['peak_rss_total_mib']:13.0f}")
print(f"{'strata':10} {s['train_images_per_sec']:12.0f} {s['infer_images_per_sec']:12.0f} {s.get('peak_rss_mib') or float('nan'):13.0f}")
print(f"{'ratio':10} {s['train_images_per_sec']/t['train_img_s']:12.2f}x {s['infer_images_per_sec']/t['infer_img_s']:11.2f}x")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$work"
