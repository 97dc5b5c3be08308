#!/usr/bin/env bash
# Usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT; without CUDA: gloo on the CPU.
[ $# -ge 3 ] || { echo "error: usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]" >&2; exit 2; }
exec bash "$(dirname "$0")/launchers/torchrun.sh" test.py "$3" "$1" "$2" "${@:4}"
