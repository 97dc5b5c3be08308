#!/usr/bin/env bash
# Shared by tools/dist_train.sh and tools/dist_test.sh: torchrun NPROC copies of a tool.
# Usage: tools/launchers/torchrun.sh TOOL.py NPROC [tool args]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT (same meaning as in other OpenMMLab repos).
# Without CUDA the processes use the gloo backend on the CPU.
set -e
TOOLS="$(cd "$(dirname "$0")/.." && pwd)"
TOOL=$1
NPROC=$2
PYTHON=${PYTHON:-python}
PYTHONPATH="$TOOLS/..":$PYTHONPATH \
$PYTHON -m torch.distributed.run \
    --nnodes=${NNODES:-1} \
    --node_rank=${NODE_RANK:-0} \
    --master_addr=${MASTER_ADDR:-"127.0.0.1"} \
    --nproc_per_node=$NPROC \
    --master_port=${PORT:-29500} \
    "$TOOLS/$TOOL" "${@:3}" --launcher pytorch
