"""Soft-NMS decay rows in batches vs one per round, by number of candidates.

``mmloc.models.post_processing.nms.soft_nms`` multiplies the scores by the kept candidate's
row of decays each round. Up to ``BATCHED_ROWS_MAX_CANDIDATES`` candidates the rows are
computed ahead in batches (``_BatchedRows``: fewer numpy calls; half that limit for masked
rounds), beyond it one per round in (N,) buffers (``_RoundRows``). This times both sources
on the same seeded inputs, in alternation, and checks they give the same bits:

* ``bmn``: MMAction2's Soft-NMS as BMN runs it (float64, alpha 0.4, thresholds 0.5 / 0.9,
  top_k 100), normalised segments up to 0.3 long;
* ``pem``: as BSN's PEM runs it (float32, alpha 0.75, thresholds 0.65 / 0.9, top_k 100);
* ``afsd``: AFSD's Soft-NMS (sigma 0.5, score floor 0.001, top_k 5000; its rounds are
  masked), segments of 0.5-10 s in 100 s;
* ``bmn_maps`` (when the peer-bench directory is there): BMN's candidates of the peer's
  trained-like maps (``synth.bmn_output`` of ``synth.video_infos(20, seed=3)``, the inputs
  of ``peer/bench_bmn.py``'s post-processing), ms per video; N is their mean count.

Prints one row per (case, candidates) with the median ms per call of each source, the
ratio per-round / batched and what ``soft_nms`` picks (``compiled``: the numba rounds of
``soft_nms_kernel``, ``default ms``); then one JSON line.

    python benchmarks/soft_nms_rows.py [--sizes 100,250,500,1000,2000,4000] [--repeat 9]
        [--cases bmn,pem,afsd,bmn_maps] [--peer-dir DIR]
"""
from __future__ import annotations

import argparse
import json
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))


def _inputs(case: str, n: int, seed: int):
    rng = np.random.default_rng(seed)
    if case == 'afsd':
        start = rng.uniform(0, 100, n)
        return np.column_stack([start, start + rng.uniform(0.5, 10, n), rng.random(n)])
    start = rng.uniform(0, 1, n)
    rows = np.column_stack([start, np.minimum(1, start + rng.uniform(0, 0.3, n)), rng.random(n)])
    return rows.astype(np.float32) if case == 'pem' else rows


def _bmn_maps(peer: str | None) -> list | None:
    """BMN candidates (N, 7) of the peer's 20 trained-like maps; None without the peer."""
    from peer.twin import load_synth

    from mmloc.models.localizers.bmn import bmn_candidates
    try:
        synth = load_synth(peer)
    except FileNotFoundError:
        return None
    infos = synth.video_infos(20, seed=3)
    maps = [synth.bmn_output(info, seed=i) for i, info in enumerate(infos)]
    return [bmn_candidates(start, end, bm[1], bm[0]) for start, end, bm in maps]


def _call(case: str, rows):
    from mmloc.models.post_processing.nms import afsd_soft_nms, mmaction2_soft_nms
    if case == 'bmn_maps':     # per video
        return np.concatenate([mmaction2_soft_nms(r, 0.4, 0.5, 0.9, 100) for r in rows])
    if case == 'bmn':
        return mmaction2_soft_nms(rows, 0.4, 0.5, 0.9, 100)
    if case == 'pem':
        return mmaction2_soft_nms(rows, 0.75, 0.65, 0.9, 100, dtype=np.float32)
    return afsd_soft_nms(rows, 0.5, 5000, 0.001)


def _recording(uses_kernel, out: list):
    """``uses_kernel`` that appends to ``out`` whether the compiled rounds run."""
    def recorded(*args, **kwargs):
        scan = uses_kernel(*args, **kwargs)
        out.append(scan is not None)
        return scan
    return recorded


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--sizes', default='100,250,500,1000,2000,4000')
    ap.add_argument('--cases', default='bmn,pem,afsd,bmn_maps')
    ap.add_argument('--peer-dir', default=None, help='the peer-bench directory (bmn_maps)')
    ap.add_argument('--repeat', type=int, default=9)
    args = ap.parse_args(argv)
    from machine_load import LoadMeter
    from timing import median_time

    from mmloc.models.post_processing import nms, soft_nms_kernel
    meter = LoadMeter()
    has_kernel, kernel_available = soft_nms_kernel.available(), soft_nms_kernel.available
    uses_kernel = nms.uses_kernel
    limit = nms.BATCHED_ROWS_MAX_CANDIDATES
    rows_out = []
    print(f'{"case":8} {"N":>6} {"per round ms":>13} {"batched ms":>11} {"ratio":>6} '
          f'{"default ms":>11}  used')
    try:
        for case in args.cases.split(','):
            if case == 'bmn_maps':
                videos = _bmn_maps(args.peer_dir)
                if videos is None:
                    print('bmn_maps: skipped (no peer-bench synth.py; --peer-dir)')
                    continue
                sizes = [round(float(np.mean([len(r) for r in videos])))]
            else:
                sizes = list(map(int, args.sizes.split(',')))
            for n in sizes:
                rows = videos if case == 'bmn_maps' else _inputs(case, n, seed=n)
                per = len(rows) if case == 'bmn_maps' else 1
                got = {}
                compiled = []                   # per soft_nms call: the compiled rounds ran
                times = {'round': [], 'batched': [], 'default': []}
                for _ in range(2):              # alternated, twice each
                    # the numpy row sources with the compiled rounds off; 'default' is what
                    # soft_nms picks (the compiled rounds where numba runs them)
                    for source, cap, kernel in (('round', 0, False),
                                                ('batched', 1 << 62, False),
                                                ('default', limit, has_kernel)):
                        nms.BATCHED_ROWS_MAX_CANDIDATES = cap
                        soft_nms_kernel.available = lambda k=kernel: k
                        if source == 'default':
                            nms.uses_kernel = _recording(uses_kernel, compiled)
                        got[source] = _call(case, rows)
                        nms.uses_kernel = uses_kernel
                        times[source].append(
                            median_time(lambda: _call(case, rows), args.repeat) * 1e3 / per)
                nms.BATCHED_ROWS_MAX_CANDIDATES = limit
                soft_nms_kernel.available = kernel_available
                same = np.array_equal(got['round'], got['batched']) and \
                    np.array_equal(got['round'], got['default'])
                r, b, d = (min(times[k]) for k in ('round', 'batched', 'default'))
                row = dict(case=case, n=n, round_ms=round(r, 3), batched_ms=round(b, 3),
                           ratio=round(r / b, 2), default_ms=round(d, 3), same_bits=same,
                           used=('compiled' if compiled and all(compiled) else
                                 'batched' if all(
                                     nms.uses_batched_rows(len(video), case == 'afsd')
                                     for video in (rows if case == 'bmn_maps' else [rows]))
                                 else 'round'))
                rows_out.append(row)
                print(f'{case:8} {n:>6} {r:>13.3f} {b:>11.3f} {r / b:>6.2f} {d:>11.3f}  '
                      f'{row["used"]}'
                      + ('' if same else '  DIFFERENT BITS'))
    finally:
        nms.BATCHED_ROWS_MAX_CANDIDATES = limit
        soft_nms_kernel.available = kernel_available
        nms.uses_kernel = uses_kernel
    out = dict(bench='soft_nms_rows', repeat=args.repeat, batched_max_candidates=limit,
               compiled_rounds=has_kernel,
               other_cpu_load=meter.other_cpu_load(), rows=rows_out)
    print(json.dumps(out))
    if not all(r['same_bits'] for r in rows_out):
        raise SystemExit('soft_nms_rows: the row sources gave different bits')
    return out


if __name__ == '__main__':
    main()
