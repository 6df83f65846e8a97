#!/usr/bin/env bash
# Side-by-side throughput against PyTorch: scripts/bench-side-by-side.sh with PEER=torch
# (kept under this name for the scripts that call it).
#   scripts/bench-vs-pytorch.sh mlp                    (workloads: mlp lenet5 cnn lstm resnet20 resnet20-rgb32)
#   scripts/bench-vs-pytorch.sh lenet5 --replicas 2    (further arguments go to `strata bench`)
PEER=torch exec "$(dirname "$0")/bench-side-by-side.sh" "$@"
