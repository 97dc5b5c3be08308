#!/usr/bin/env bash
# The whole BSN chain on the seeded synthetic ActivityNet-like set, end to end on CPU:
# generate data -> train TEM -> test TEM (TEM CSVs) -> PGM train + test -> train PEM ->
# test PEM with --eval AR@AN --out results.json.
# Usage: tools/misc/bsn_chain_demo.sh   (PYTHON=... to choose the interpreter)
# Outputs: data/synthetic_anet/ and work_dirs/bsn_synthetic_demo/ (paths set in the demo configs).
set -euo pipefail
[ $# -eq 0 ] || { echo "error: usage: tools/misc/bsn_chain_demo.sh (no arguments; PYTHON=... to choose the interpreter)" >&2; exit 2; }
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python}
CFG=configs/localization/bsn
WORK=work_dirs/bsn_synthetic_demo

echo "== 1/6 synthetic data (data/synthetic_anet)"
$PY tools/data/synthetic/generate_activitynet.py data/synthetic_anet --num-train 320 \
    --num-val 100 --seed 0 --temporal-dim 100 --feat-dim 64 --num-classes 10

echo "== 2/6 train TEM"
$PY tools/train.py $CFG/bsn_tem_synthetic_demo.py

echo "== 3/6 test TEM: one CSV per video in $WORK/tem_results/"
$PY tools/test.py $CFG/bsn_tem_synthetic_demo.py $WORK/tem_epoch_20.pth

echo "== 4/6 PGM: proposals and BSP features for the train and val videos"
$PY tools/misc/bsn_proposal_generation.py $CFG/bsn_pgm_synthetic_demo.py --mode train --overwrite
$PY tools/misc/bsn_proposal_generation.py $CFG/bsn_pgm_synthetic_demo.py --mode test --overwrite

echo "== 5/6 train PEM"
$PY tools/train.py $CFG/bsn_pem_synthetic_demo.py

echo "== 6/6 test PEM: AR@AN on the val split, proposals in $WORK/results.json"
$PY tools/test.py $CFG/bsn_pem_synthetic_demo.py $WORK/pem_epoch_20.pth \
    --eval AR@AN --out $WORK/results.json
