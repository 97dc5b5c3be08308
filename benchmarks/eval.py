"""Benchmark: AR@AN and detection mAP, vectorised (mmloc) vs the loop references, same run.

Synthetic ActivityNet-sized input (seeded): 5,000 videos x 100 proposals, 1-3 GT per video,
200 classes; detections label each proposal with its video's first GT class (80 %) or a
random class. Baselines: ``official_style_ar_an`` (the official/MMAction2 loop structure with
numpy per video, threshold and AN point) and ``loop_detection_map`` (per-prediction loops as
``compute_average_precision_detection``), both in ``tests/evaluation/loop_reference.py``.

    OMP_NUM_THREADS=1 python benchmarks/eval.py [--videos 5000] [--proposals 100]

Prints the timings, the speedups and the largest differences; the last line is one JSON object.
"""
import argparse
import json
import os.path as osp
import sys
import time

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.join(ROOT, 'tests', 'evaluation'))

from loop_reference import loop_detection_map, official_style_ar_an  # noqa: E402

from mmloc.evaluation.functional import (ANET_TIOU_THRESHOLDS,  # noqa: E402
                                         average_recall_at_avg_proposals,
                                         compute_detection_map)


def make_data(n_videos, n_props, n_classes, seed=0):
    rng = np.random.default_rng(seed)
    gt, props, dets = {}, {}, {}
    for v in range(n_videos):
        dur = float(rng.uniform(30, 300))
        g = int(rng.integers(1, 4))
        length = rng.uniform(0.05, 0.8, g) * dur
        start = rng.uniform(0, 1, g) * (dur - length)
        segs = np.stack([start, start + length], 1)
        labels = rng.integers(0, n_classes, g)
        n_jit = min(n_props // 4, 10 * g)
        base = segs[rng.integers(0, g, n_jit)]
        jit = base + rng.normal(0, 0.15, base.shape) * (base[:, 1:] - base[:, :1])
        rand = np.sort(rng.uniform(0, dur, (n_props - n_jit, 2)), 1)
        p = np.clip(np.concatenate([jit, rand]), 0, dur)
        p.sort(axis=1)
        scores = rng.random(n_props)
        vid = f'vid{v:05d}'
        gt[vid] = (segs, labels)
        props[vid] = np.concatenate([p, scores[:, None]], 1)
        plabels = np.where(rng.random(n_props) < 0.8, labels[0], rng.integers(0, n_classes, n_props))
        dets[vid] = (p, scores, plabels)
    return gt, props, dets


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--videos', type=int, default=5000)
    parser.add_argument('--proposals', type=int, default=100)
    parser.add_argument('--classes', type=int, default=200)
    args = parser.parse_args()
    gt, props, dets = make_data(args.videos, args.proposals, args.classes)
    gt_segs = {v: s for v, (s, _) in gt.items()}
    print(f'{args.videos} videos x {args.proposals} proposals, {args.classes} classes, '
          f'{sum(len(s) for s in gt_segs.values())} GT instances')

    ar, t_ar = timed(average_recall_at_avg_proposals, gt_segs, props)
    ar_ref, t_ar_ref = timed(official_style_ar_an, gt_segs, props)
    ar_diff = max(float(np.abs(ar['recall'] - ar_ref[0]).max()), abs(ar['auc'] - ar_ref[3]))
    print(f'AR@AN  mmloc {t_ar:8.3f} s | loop {t_ar_ref:8.3f} s | x{t_ar_ref / t_ar:6.1f} | '
          f'max |diff| {ar_diff:.2e} | auc {ar["auc"]:.6f} AR@100 {ar["AR@100"]:.6f}')

    dm, t_dm = timed(compute_detection_map, gt, dets, args.classes, ANET_TIOU_THRESHOLDS)
    dm_ref, t_dm_ref = timed(loop_detection_map, gt, dets, args.classes, ANET_TIOU_THRESHOLDS)
    dm_diff = float(np.nanmax(np.abs(dm['ap'] - dm_ref[0])))
    print(f'mAP    mmloc {t_dm:8.3f} s | loop {t_dm_ref:8.3f} s | x{t_dm_ref / t_dm:6.1f} | '
          f'max |diff| {dm_diff:.2e} | average_mAP {dm["average_mAP"]:.6f}')
    print(json.dumps(dict(
        videos=args.videos, proposals=args.proposals, classes=args.classes,
        ar_an_s=round(t_ar, 4), ar_an_loop_s=round(t_ar_ref, 4),
        ar_an_speedup=round(t_ar_ref / t_ar, 2), ar_an_max_diff=ar_diff,
        map_s=round(t_dm, 4), map_loop_s=round(t_dm_ref, 4),
        map_speedup=round(t_dm_ref / t_dm, 2), map_max_diff=dm_diff,
        auc=ar['auc'], average_mAP=dm['average_mAP'])))


if __name__ == '__main__':
    main()
