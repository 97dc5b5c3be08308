"""Benchmark: evaluation at ten times ActivityNet's size, wall time and peak memory.

AR@AN on 50,000 videos x 100 proposals (5 M proposals) and detection mAP on 500,000
detections (50,000 videos x 10) over 200 classes, synthetic and seeded (the generator of
``benchmarks/eval.py``: 1-3 GT per video, a quarter of the proposals jittered GT). Every
measurement runs in a process of its own, so that its peak memory (``ru_maxrss``) is its
own:

* ``ar_an`` / ``map``: the functional cores on in-memory arrays (what the metrics call);
* ``write``: ``write_results`` of both results files and the GT JSONs (one process);
* ``ar_an_files`` / ``map_files``: what ``tools/analysis/eval_metric.py`` does: read and check
  the GT and results JSON, then evaluate.

    OMP_NUM_THREADS=1 python benchmarks/scale_eval.py [--videos 50000] [--proposals 100] \\
        [--det-videos 50000] [--detections 10] [--classes 200] [--stages ar_an,map,...]

``rss_before_mb`` is the resident memory when the timed part starts (inputs built or
imports done), ``peak_rss_mb`` the process's peak. Prints one line per stage; the last line
is one JSON object.
"""
import argparse
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import tempfile
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

STAGES = ('ar_an', 'map', 'write', 'ar_an_files', 'map_files')


def _rss_mb() -> float:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    return float('nan')


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KiB on Linux


def _data(args, which: str):
    from eval import make_data   # benchmarks/eval.py
    if which == 'ar':
        gt, props, _ = make_data(args.videos, args.proposals, args.classes, seed=0)
        return gt, props
    gt, _, dets = make_data(args.det_videos, args.detections, args.classes, seed=1)
    return gt, dets


def _gt_json(gt, pred_ends: dict, dur_pad=1.0) -> dict:
    """The official layout; durations cover the GT and every proposal (``pred_ends``: the
    last end per video), so no segment reaches outside its video."""
    database = {}
    for vid, (segs, labels) in gt.items():
        duration = max(float(segs.max()), pred_ends.get(vid, 0.0)) + dur_pad
        database[vid] = dict(subset='validation', duration=duration,
                             annotations=[dict(segment=[float(s), float(e)], label=f'class_{c}')
                                          for (s, e), c in zip(segs, labels)])
    return dict(version='VERSION 1.3', taxonomy=[], database=database)


def child(stage: str, args) -> dict:
    out = dict(stage=stage)
    if stage == 'ar_an':
        from mmloc.evaluation.functional import average_recall_at_avg_proposals
        gt, props = _data(args, 'ar')
        gt_segs = {v: s for v, (s, _) in gt.items()}
        out['rss_before_mb'] = _rss_mb()
        t = time.perf_counter()
        res = average_recall_at_avg_proposals(gt_segs, props)
        out.update(wall_s=time.perf_counter() - t, auc=res['auc'], ar_at_100=res['AR@100'])
    elif stage == 'map':
        from mmloc.evaluation.functional import ANET_TIOU_THRESHOLDS, compute_detection_map
        gt, dets = _data(args, 'map')
        out['rss_before_mb'] = _rss_mb()
        t = time.perf_counter()
        res = compute_detection_map(gt, dets, args.classes, ANET_TIOU_THRESHOLDS)
        out.update(wall_s=time.perf_counter() - t, average_mAP=res['average_mAP'])
    elif stage == 'write':
        from mmloc.evaluation.formats import write_results
        from mmloc.utils.io import atomic_write_json
        t, sizes = 0.0, {}
        for which in ('ar', 'map'):
            gt, pred = _data(args, which)
            if which == 'ar':
                results = {v: dict(segments=p[:, :2], scores=p[:, 2]) for v, p in pred.items()}
            else:
                results = {v: dict(segments=s, scores=sc, labels=[f'class_{c}' for c in lab])
                           for v, (s, sc, lab) in pred.items()}
            ends = {v: float(r['segments'][:, 1].max()) for v, r in results.items()}
            out['rss_before_mb'] = max(out.get('rss_before_mb', 0), _rss_mb())
            start = time.perf_counter()
            write_results(osp.join(args.workdir, f'results_{which}.json'), results)
            t += time.perf_counter() - start
            atomic_write_json(osp.join(args.workdir, f'gt_{which}.json'), _gt_json(gt, ends))
            for name in (f'results_{which}.json', f'gt_{which}.json'):
                sizes[name] = osp.getsize(osp.join(args.workdir, name)) / 2**20
        out.update(wall_s=t, file_mb=sizes)
    elif stage in ('ar_an_files', 'map_files'):
        from mmloc.evaluation.metrics.anet_metric import ar_an_from_files
        from mmloc.evaluation.metrics.detection_metric import detection_map_from_files
        which = 'ar' if stage == 'ar_an_files' else 'map'
        results = osp.join(args.workdir, f'results_{which}.json')
        gt = osp.join(args.workdir, f'gt_{which}.json')
        out['rss_before_mb'] = _rss_mb()
        t = time.perf_counter()
        if which == 'ar':
            res = ar_an_from_files(results, gt, subset='validation')
            out.update(auc=res['auc'])
        else:
            res = detection_map_from_files(results, gt, subset='validation')
            out.update(average_mAP=res['average_mAP'])
        out['wall_s'] = time.perf_counter() - t
    else:
        raise SystemExit(f'unknown stage {stage!r}; expected one of {", ".join(STAGES)}')
    out['peak_rss_mb'] = _peak_mb()
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--videos', type=int, default=50000)
    parser.add_argument('--proposals', type=int, default=100)
    parser.add_argument('--det-videos', type=int, default=50000)
    parser.add_argument('--detections', type=int, default=10, help='per video')
    parser.add_argument('--classes', type=int, default=200)
    parser.add_argument('--stages', default=','.join(STAGES))
    parser.add_argument('--child', help=argparse.SUPPRESS)
    parser.add_argument('--workdir', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args)))
        return
    stages = [s for s in args.stages.split(',') if s]
    if any(s.endswith('_files') for s in stages) and 'write' not in stages:
        stages.insert(next(i for i, s in enumerate(stages) if s.endswith('_files')), 'write')
    print(f'AR@AN: {args.videos} videos x {args.proposals} proposals = '
          f'{args.videos * args.proposals:,} proposals; mAP: {args.det_videos} videos x '
          f'{args.detections} = {args.det_videos * args.detections:,} detections, '
          f'{args.classes} classes; threads {os.environ.get("OMP_NUM_THREADS", "default")}')
    summary = dict(videos=args.videos, proposals=args.proposals, det_videos=args.det_videos,
                   detections=args.det_videos * args.detections, classes=args.classes)
    with tempfile.TemporaryDirectory(prefix='mmloc_scale_') as workdir:
        for stage in stages:
            cmd = [sys.executable, osp.abspath(__file__), '--child', stage, '--workdir', workdir,
                   '--videos', str(args.videos), '--proposals', str(args.proposals),
                   '--det-videos', str(args.det_videos), '--detections', str(args.detections),
                   '--classes', str(args.classes)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                sys.stderr.write(proc.stderr)
                raise SystemExit(f'stage {stage} failed (exit {proc.returncode})')
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            extra = {k: v for k, v in res.items()
                     if k not in ('stage', 'wall_s', 'peak_rss_mb', 'rss_before_mb')}
            print(f'{stage:12s} {res["wall_s"]:8.2f} s | peak RSS {res["peak_rss_mb"]:8.1f} MB '
                  f'(at start {res["rss_before_mb"]:8.1f} MB) | {extra}')
            summary[stage] = {k: v for k, v in res.items() if k != 'stage'}
    print(json.dumps(summary))


if __name__ == '__main__':
    main()
