#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG GPUS [train.py args]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT; without CUDA: gloo on the CPU.
[ $# -ge 2 ] || { echo "error: usage: tools/dist_train.sh CONFIG GPUS [train.py args]" >&2; exit 2; }
exec bash "$(dirname "$0")/launchers/torchrun.sh" train.py "$2" "$1" "${@:3}"
