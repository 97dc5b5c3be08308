"""Whole-epoch wall time of BMN training on a synthetic ActivityNet-sized set (CPU).

Writes ``--videos`` synthetic videos in the real on-disk layout (one CSV of 100 x 400
features per video, MMAction2's ``csv_mean_100``; ``mmloc.testing``), then for each
``--workers`` value runs one epoch exactly as the default BMN config trains: its dataset,
pipeline (``LoadLocalizationFeature`` parses each CSV with ``np.loadtxt`` every step, no
cache by default), collate, batch 8 with ``drop_last``, ``model.train_step`` (forward,
loss, backward, clip, Adam). Reported per run: the epoch's wall time, the part spent
waiting for batches, per-step means, and the epoch time **extrapolated** to
``--full-videos`` (ActivityNet v1.3's 9649 training videos: the first, warm-up step
plus the mean later iteration for each further step); ``scale`` says how much smaller
the measured set was. A separate pass times the data loading alone (``num_workers 0``).
``other_cpu_load``: cores other processes used meanwhile. The last line is one JSON object.

    python benchmarks/epoch_time.py [--videos 80] [--workers 0,2] [--threads 2]
        [--peer-python ~/.cache/mmloc-peer-bench/venv-mmaction2-1.2.0/bin/python]

``--peer-python`` also runs MMAction2 1.2.0's own dataset, pipeline and BMN on the same
files (``benchmarks/peer/epoch_mmaction2.py``, in that interpreter).
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.join(REPO, 'benchmarks'))
CONFIG = 'configs/localization/bmn/bmn_400x100_2x8_9e_activitynet_feature.py'
ANET_TRAIN_VIDEOS = 9649


def make_data(out_dir: str, videos: int, seed: int = 0) -> dict:
    """The synthetic set (CSV features + MMAction2 annotation JSON) under ``out_dir``."""
    from mmloc.testing.synthetic_activitynet import generate_synthetic_activitynet
    return generate_synthetic_activitynet(out_dir, num_train=videos, num_val=0, seed=seed)


def train_loader(cfg, paths: dict, workers: int):
    """The config's training dataloader on the synthetic set with ``workers`` workers."""
    from mmengine.runner import Runner
    loader = cfg.train_dataloader.copy()
    loader.update(num_workers=workers, persistent_workers=workers > 0)
    loader['dataset'] = dict(loader['dataset'], ann_file=paths['ann_file_train'],
                             data_prefix=dict(video=paths['feature_dir'] + os.sep))
    return Runner.build_dataloader(loader, seed=0)


def timed_epoch(loader, step=None) -> dict:
    """One pass over ``loader`` calling ``step(batch)`` (None: loading only): wall time,
    time waiting for batches, steps and each step's time. Plain Python, so that the
    MMAction2 side (``peer/epoch_mmaction2.py``) times its epoch with the same loop."""
    wait, steps, step_times = 0.0, 0, []
    t0 = time.perf_counter()
    it = iter(loader)
    while True:
        t1 = time.perf_counter()
        try:
            data = next(it)
        except StopIteration:
            break
        wait += time.perf_counter() - t1
        if step is not None:
            t2 = time.perf_counter()
            step(data)
            step_times.append(time.perf_counter() - t2)
        steps += 1
    return dict(epoch_s=time.perf_counter() - t0, data_wait_s=wait, steps=steps,
                step_times_s=step_times)


def run_epoch(cfg, loader, train: bool = True) -> dict:
    """:func:`timed_epoch` with the config's BMN and optimiser (``train``) or loading only."""
    if not train:
        return timed_epoch(loader)
    import torch
    from mmengine.optim import build_optim_wrapper

    from mmloc.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    return timed_epoch(loader, lambda data: model.train_step(data, optim))


def extrapolate(run: dict, batch: int, full_videos: int) -> float:
    """The epoch time at ``full_videos`` videos (``drop_last``: ``full_videos // batch``
    steps): the measured first step (warm-up, once per epoch process) plus the mean of
    the later iterations (step and data wait) for every further step."""
    full_steps = full_videos // batch
    steps, times = run['steps'], run['step_times_s']
    if steps < 2 or len(times) != steps:
        return run['epoch_s'] / steps * full_steps
    rest = (run['epoch_s'] - times[0]) / (steps - 1)
    return times[0] + rest * (full_steps - 1)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--videos', type=int, default=80, help='videos written and trained on')
    ap.add_argument('--full-videos', type=int, default=ANET_TRAIN_VIDEOS,
                    help='the set size the epoch time is extrapolated to')
    ap.add_argument('--workers', default='0,2', help='num_workers values, comma-separated')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--data-dir', default=None, help='where to write the set (default: temp)')
    ap.add_argument('--peer-python', default=None,
                    help='also time MMAction2 1.2.0 (its venv python) on the same files')
    args = ap.parse_args(argv)
    from machine_load import LoadMeter
    meter = LoadMeter()
    import torch
    torch.set_num_threads(args.threads)
    from mmengine.config import Config

    from mmloc.utils import register_all_modules
    register_all_modules()
    from mmloc.utils.cpu_memory import apply_env_cpu_memory
    cfg = Config.fromfile(osp.join(REPO, CONFIG))
    apply_env_cpu_memory(cfg.get('env_cfg'))      # as tools/train.py does
    batch = cfg.train_dataloader.batch_size
    if args.videos < batch:
        raise SystemExit(f'--videos must be at least the batch size {batch}')
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or tmp
        t0 = time.perf_counter()
        paths = make_data(data_dir, args.videos)
        out = dict(videos=args.videos, full_videos=args.full_videos,
                   scale=round(args.videos / args.full_videos, 5), batch=batch,
                   threads=args.threads, data_gen_s=round(time.perf_counter() - t0, 1))
        load = run_epoch(cfg, train_loader(cfg, paths, 0), train=False)
        out['load_only_s_per_video'] = load['epoch_s'] / (load['steps'] * batch)
        for workers in (int(w) for w in args.workers.split(',')):
            run = run_epoch(cfg, train_loader(cfg, paths, workers))
            run.update(step_s=sum(run['step_times_s']) / run['steps'],
                       full_epoch_s_extrapolated=extrapolate(run, batch, args.full_videos))
            out[f'mmloc_workers{workers}'] = run
            print(f'mmloc, num_workers {workers}: {run["steps"]} steps in {run["epoch_s"]:.1f} s '
                  f'({run["data_wait_s"]:.1f} s waiting for data) -> '
                  f'{run["full_epoch_s_extrapolated"] / 60:.1f} min per epoch of '
                  f'{args.full_videos} videos', flush=True)
        if args.peer_python:
            cmd = [args.peer_python, osp.join(REPO, 'benchmarks', 'peer', 'epoch_mmaction2.py'),
                   '--ann-file', paths['ann_file_train'], '--feature-dir', paths['feature_dir'],
                   '--workers', args.workers, '--threads', str(args.threads)]
            env = dict(os.environ, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD='1')
            env.pop('PYTHONPATH', None)
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f'{" ".join(cmd)} failed:\n{proc.stderr[-3000:]}')
            peer = json.loads(proc.stdout.strip().splitlines()[-1])
            for key, run in peer.items():
                if isinstance(run, dict):
                    run['full_epoch_s_extrapolated'] = extrapolate(run, batch,
                                                                   args.full_videos)
                    print(f'MMAction2 {key}: {run["steps"]} steps in {run["epoch_s"]:.1f} s -> '
                          f'{run["full_epoch_s_extrapolated"] / 60:.1f} min per epoch',
                          flush=True)
            out['mmaction2'] = peer
    out['other_cpu_load'] = meter.other_cpu_load()
    print(json.dumps(out))
    return out


if __name__ == '__main__':
    main()
