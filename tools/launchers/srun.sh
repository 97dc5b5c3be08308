#!/usr/bin/env bash
# Shared by tools/slurm_train.sh and tools/slurm_test.sh: one srun task per GPU.
# Usage: [GPUS=8 GPUS_PER_NODE=8 CPUS_PER_TASK=5 SRUN_ARGS=...] tools/launchers/srun.sh PARTITION JOB_NAME TOOL.py CONFIG [tool args]
# Fails like the tools: one `error: ...` line and exit 2 for bad usage, a missing config or
# no srun on this machine.
TOOLS="$(cd "$(dirname "$0")/.." && pwd)"
fail() { echo "error: $1" >&2; exit 2; }
[ $# -ge 4 ] || fail "usage: tools/launchers/srun.sh PARTITION JOB_NAME TOOL.py CONFIG [tool args]"
[ -f "$TOOLS/$3" ] || fail "$TOOLS/$3: no such tool"
[ -f "$4" ] || fail "$4: config file not found"
command -v srun >/dev/null || fail "srun: command not found (the slurm_*.sh launchers run on a Slurm cluster)"
set -x
PARTITION=$1
JOB_NAME=$2
TOOL=$3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
export MASTER_PORT=${MASTER_PORT:-$((12000 + RANDOM % 20000))}
PYTHONPATH="$TOOLS/..":$PYTHONPATH \
srun -p ${PARTITION} \
    --job-name=${JOB_NAME} \
    --gres=gpu:${GPUS_PER_NODE} \
    --ntasks=${GPUS} \
    --ntasks-per-node=${GPUS_PER_NODE} \
    --cpus-per-task=${CPUS_PER_TASK:-5} \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS:-""} \
    python -u "$TOOLS/$TOOL" "${@:4}" --launcher=slurm
