#!/usr/bin/env bash
# Usage: [GPUS=8 GPUS_PER_NODE=8 CPUS_PER_TASK=5 SRUN_ARGS=...] tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]
[ $# -ge 4 ] || { echo "error: usage: tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]" >&2; exit 2; }
exec bash "$(dirname "$0")/launchers/srun.sh" "$1" "$2" test.py "$3" "$4" "${@:5}"
