#!/usr/bin/env bash
# Shared by tools/dist_train.sh and tools/dist_test.sh: torchrun NPROC copies of a tool.
# Usage: tools/launchers/torchrun.sh TOOL.py NPROC CONFIG [tool args]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT (same meaning as in other OpenMMLab repos).
# Without CUDA the processes use the gloo backend on the CPU.
# Fails like the tools: one `error: ...` line, exit 2 for bad usage or input (a failing copy's
# own status otherwise; torchrun's report with --debug or MMLOC_DEBUG=1).
set -e
TOOLS="$(cd "$(dirname "$0")/.." && pwd)"
TOOL=$1
NPROC=$2
fail() { echo "error: $1" >&2; exit 2; }
[ $# -ge 3 ] || fail "usage: tools/launchers/torchrun.sh TOOL.py NPROC CONFIG [tool args]"
[ -f "$TOOLS/$TOOL" ] || fail "$TOOLS/$TOOL: no such tool"
[[ "$NPROC" =~ ^[1-9][0-9]*$ ]] || fail "GPUS/NPROC must be a positive number of processes, got '$NPROC'"
[ -f "$3" ] || fail "$3: config file not found"
PYTHON=${PYTHON:-python}
PYTHONPATH="$TOOLS/..":$PYTHONPATH \
$PYTHON -m mmloc.utils.torchrun \
    --nnodes=${NNODES:-1} \
    --node_rank=${NODE_RANK:-0} \
    --master_addr=${MASTER_ADDR:-"127.0.0.1"} \
    --nproc_per_node=$NPROC \
    --master_port=${PORT:-29500} \
    "$TOOLS/$TOOL" "${@:3}" --launcher pytorch
