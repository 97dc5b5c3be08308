"""Strict JSON reading (repeated keys are an error) against a plain ``json.load``.

Writes an ActivityNet-style detection results file (``--videos`` x ``--detections``
items ``{"label", "segment", "score"}``, seeded) and times, alternating run by run:
``json.load`` (what MMAction2 reads results with), ``mmloc.utils.io.load_json_file``
(the strict reader every mmloc file reader uses), ``json.load`` with the cyclic
garbage collector paused (the floor of a Python JSON parse), and the results reader
``mmloc.evaluation.formats.read_results`` to columns, by default (the compiled scanner of
``mmloc.evaluation.results_scan``, when numba imports) and through the strict JSON path
(scanner off). Medians of ``--repeat`` runs each, and ``other_cpu_load``; the last line
is one JSON object.

    python benchmarks/json_load.py [--videos 5000] [--detections 100] [--repeat 3]
"""
import argparse
import gc
import json
import os
import os.path as osp
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))


def write_results(path: str, videos: int, per_video: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    results = {}
    for v in range(videos):
        start = rng.uniform(0, 100, per_video)
        length = rng.uniform(1, 50, per_video)
        score = rng.random(per_video)
        label = rng.integers(0, 200, per_video)
        results[f'video{v:05d}'] = [
            dict(label=f'class_{int(c)}', segment=[float(s), float(s + w)], score=float(p))
            for s, w, p, c in zip(start, length, score, label)]
    with open(path, 'w') as f:
        json.dump(dict(version='VERSION 1.3', results=results, external_data={}), f)


def plain(path):
    with open(path) as f:
        return json.load(f)


def plain_gc_paused(path):
    gc.disable()
    try:
        return plain(path)
    finally:
        gc.enable()


def read_results_scanned(path):
    from mmloc.evaluation import formats
    return formats.read_results(path, require_label=True)


def read_results_json(path):
    from mmloc.evaluation import formats
    scan = formats.scan_results_file
    formats.scan_results_file = lambda source: None
    try:
        return formats.read_results(path, require_label=True)
    finally:
        formats.scan_results_file = scan


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--videos', type=int, default=5000)
    ap.add_argument('--detections', type=int, default=100)
    ap.add_argument('--repeat', type=int, default=3)
    args = ap.parse_args(argv)
    from machine_load import LoadMeter
    from mmloc.utils.io import load_json_file
    meter = LoadMeter()
    readers = dict(json_load=plain, mmloc_strict=load_json_file,
                   json_load_gc_paused=plain_gc_paused, read_results=read_results_scanned,
                   read_results_json_path=read_results_json)
    times = {k: [] for k in readers}
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'results.json')
        write_results(path, args.videos, args.detections)
        size_mb = os.path.getsize(path) / 1e6
        for _ in range(args.repeat):
            for name, read in readers.items():
                t0 = time.perf_counter()
                data = read(path)
                times[name].append(time.perf_counter() - t0)
                del data
    out = dict(videos=args.videos, items=args.videos * args.detections,
               file_mb=round(size_mb, 1),
               **{f'{k}_s': statistics.median(v) for k, v in times.items()})
    out['strict_over_json_load'] = out['mmloc_strict_s'] / out['json_load_s']
    out['json_load_over_read_results'] = out['json_load_s'] / out['read_results_s']
    from mmloc.evaluation.results_scan import _KERNELS
    out['results_scanner'] = _KERNELS.get() is not None
    out['other_cpu_load'] = meter.other_cpu_load()
    for name in readers:
        print(f'{name:>20}: {out[name + "_s"]:.3f} s (median of {args.repeat})')
    print(json.dumps(out))
    return out


if __name__ == '__main__':
    main()
