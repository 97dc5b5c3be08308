"""Per-video time of BMN's post-processing alone, on the peer's trained-like maps.

The inputs of bench_bmn.py's ``post_processing_s_per_video`` (``synth.bmn_output`` of
``synth.video_infos(videos, seed=3)``, default BMN config: alpha 0.4, thresholds 0.5 / 0.9,
top_k 100), without the model or its training step: a quick before/after check for
``bmn_candidates``, ``mmaction2_soft_nms`` and ``post_processing``. Prints the median over
``--repeat`` passes of the mean per video, in ms; short runs, so compare on a quiet machine.

    python benchmarks/peer/time_bmn_postproc.py [--repeat 15] [--videos 20] [--peer-dir DIR]
"""
import argparse
import statistics
import time

import numpy as np

import twin


def per_video_ms(fn, n: int, repeat: int) -> float:
    """Median over ``repeat`` calls of ``fn()`` of its time divided by ``n``, in ms."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) / n)
    return statistics.median(times) * 1e3


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--repeat', type=int, default=15)
    ap.add_argument('--videos', type=int, default=20)
    ap.add_argument('--peer-dir', default=None)
    args = ap.parse_args(argv)
    synth = twin.Twin(args.peer_dir).synth
    from mmloc.models.localizers.bmn import bmn_candidates
    from mmloc.models.post_processing.nms import mmaction2_soft_nms
    from mmloc.models.utils import post_processing
    from mmloc.structures import TimeGrid
    infos = synth.video_infos(args.videos, seed=3)
    maps = [synth.bmn_output(info, seed=i) for i, info in enumerate(infos)]
    grids = [TimeGrid.from_metainfo(dict(duration_second=i['duration_second'],
                                         duration_frame=i['duration_frame']), 100, 16)
             for i in infos]
    rows = [bmn_candidates(s, e, c[1], c[0]) for s, e, c in maps]
    n, rep = len(rows), args.repeat
    out = dict(candidates_mean=float(np.mean([len(r) for r in rows])),
               bmn_candidates_ms=per_video_ms(
                   lambda: [bmn_candidates(s, e, c[1], c[0]) for s, e, c in maps], n, rep),
               soft_nms_ms=per_video_ms(
                   lambda: [mmaction2_soft_nms(r, 0.4, 0.5, 0.9, 100) for r in rows], n, rep),
               post_processing_ms=per_video_ms(
                   lambda: [post_processing(r, g, 0.4, 0.5, 0.9, 100)
                            for r, g in zip(rows, grids)], n, rep))
    print({k: round(v, 3) for k, v in out.items()})


if __name__ == '__main__':
    main()
