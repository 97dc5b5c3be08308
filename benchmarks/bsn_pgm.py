"""PGM time per video: vectorised package code vs the per-proposal loop reference of the tests.

Both paths run on the same random TEM outputs (T=100, smooth curves with peaks) and their
outputs are compared. Candidate generation includes GT matching; BSP features use the
test-mode settings (top_k=1000). The last line is one JSON object.

    OMP_NUM_THREADS=1 python benchmarks/bsn_pgm.py [--videos 20] [--repeat 3]
"""
import argparse
import json
import os.path as osp
import sys
import time

import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.join(REPO, 'tests', 'bsn'))

from bsn_loop_reference import loop_bsp_feature, loop_candidate_proposals, random_tem  # noqa: E402

from mmloc.models.utils.bsn_pgm import generate_bsp_feature, generate_candidate_proposals  # noqa: E402


def _best_of(fn, repeat):
    best = float('inf')
    out = None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--videos', type=int, default=20)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--top-k', type=int, default=1000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    tems = [random_tem(rng, 100) for _ in range(args.videos)]
    gts = [np.sort(rng.random((int(rng.integers(1, 4)), 2)), axis=1) for _ in tems]

    def cand(fn):
        return [fn(t, 100, 0.5, g) for t, g in zip(tems, gts)]

    t_vec, props_vec = _best_of(lambda: cand(generate_candidate_proposals), args.repeat)
    t_loop, props_loop = _best_of(lambda: cand(loop_candidate_proposals), args.repeat)
    tops = [p[:args.top_k, :2].astype(np.float32) for p in props_vec]
    t_bsp_vec, bsp_vec = _best_of(
        lambda: [generate_bsp_feature(t, p) for t, p in zip(tems, tops)], args.repeat)
    t_bsp_loop, bsp_loop = _best_of(
        lambda: [loop_bsp_feature(t, p) for t, p in zip(tems, tops)], 1)

    diff = max(max(float(np.abs(a - b).max()) for a, b in zip(props_vec, props_loop)),
               max(float(np.abs(a - b).max()) for a, b in zip(bsp_vec, bsp_loop)))
    n = args.videos
    mean_props = float(np.mean([len(p) for p in props_vec]))
    result = dict(
        videos=n, mean_candidates=mean_props, top_k=args.top_k,
        pgm_ms_per_video_vectorised=1e3 * t_vec / n, pgm_ms_per_video_loop=1e3 * t_loop / n,
        bsp_ms_per_video_vectorised=1e3 * t_bsp_vec / n,
        bsp_ms_per_video_loop=1e3 * t_bsp_loop / n,
        pgm_speedup=t_loop / t_vec, bsp_speedup=t_bsp_loop / t_bsp_vec, max_abs_diff=diff)
    print(f'{n} videos, {mean_props:.0f} candidates per video on average, BSP top_k={args.top_k}')
    print(f'candidates + GT match: {result["pgm_ms_per_video_vectorised"]:.2f} ms/video '
          f'vectorised vs {result["pgm_ms_per_video_loop"]:.2f} ms/video loop '
          f'({result["pgm_speedup"]:.1f}x)')
    print(f'BSP features:          {result["bsp_ms_per_video_vectorised"]:.2f} ms/video '
          f'vectorised vs {result["bsp_ms_per_video_loop"]:.2f} ms/video loop '
          f'({result["bsp_speedup"]:.1f}x)')
    print(f'max |vectorised - loop| = {diff:.3g}')
    print(json.dumps(result))


if __name__ == '__main__':
    main()
