#!/usr/bin/env bash
# Shared by tools/slurm_train.sh and tools/slurm_test.sh: one srun task per GPU.
# Usage: [GPUS=8 GPUS_PER_NODE=8 CPUS_PER_TASK=5 SRUN_ARGS=...] tools/launchers/srun.sh PARTITION JOB_NAME TOOL.py [tool args]
set -x
TOOLS="$(cd "$(dirname "$0")/.." && pwd)"
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
