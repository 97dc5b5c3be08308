#!/usr/bin/env bash
# Usage: [GPUS=8 GPUS_PER_NODE=8 CPUS_PER_TASK=5 SRUN_ARGS=...] tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args]
[ $# -ge 4 ] || { echo "error: usage: tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args]" >&2; exit 2; }
exec bash "$(dirname "$0")/launchers/srun.sh" "$1" "$2" train.py "$3" --work-dir="$4" "${@:5}"
