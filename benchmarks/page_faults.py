"""Page faults and step time of the BMN and PEM training steps, freed-memory reuse on/off.

``env_cfg.reuse_freed_cpu_memory`` (``mmloc.utils.cpu_memory``, default on) keeps freed
CPU blocks in the heap; glibc's default returns every block above its mmap threshold to
the OS, and the next step faults the same pages in again. Each (model, setting) runs in
its own process, the settings alternated ``--pairs`` times; each run reports the median
step time and minor page faults per step over ``--steps`` steps after 2 warm-up steps, and
the process's peak RSS. Prints one line per run and one JSON line of medians.

    python benchmarks/page_faults.py [--models bmn,pem] [--pairs 2] [--steps 3]
"""
from __future__ import annotations

import argparse
import json
import os.path as osp
import resource
import statistics
import subprocess
import sys
import time

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)
PEM_CONFIG = 'configs/localization/bsn/bsn_pem_400x100_1x16_20e_activitynet_feature.py'


def _bmn_step():
    sys.path.insert(0, HERE)
    import bmn_floor
    model, optim, cfg = bmn_floor.build('default', 0)
    data = bmn_floor.make_batch(cfg, 8, 0)
    return lambda: model.train_step(data, optim)


def _pem_step():
    """PEM's default config and optimiser on 16 videos x 500 seeded proposals."""
    import numpy as np
    import torch
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.structures import InstanceData

    from mmloc.registry import MODELS
    from mmloc.structures import LocalizationDataSample
    cfg = Config.fromfile(osp.join(REPO, PEM_CONFIG))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    rng = np.random.default_rng(0)
    samples = []
    for _ in range(16):
        s = LocalizationDataSample()
        s.proposals = InstanceData(
            features=torch.as_tensor(rng.random((500, 32), np.float32)),
            reference_temporal_iou=torch.as_tensor(rng.random(500, np.float32)))
        samples.append(s)
    data = dict(inputs=None, data_samples=samples)
    return lambda: model.train_step(data, optim)


def run_one(model: str, reuse: bool, steps: int) -> dict:
    """One process's figures (called in the child)."""
    import torch
    torch.set_num_threads(2)
    from mmloc.utils import cpu_memory, register_all_modules
    register_all_modules()
    if reuse:
        applied = cpu_memory.reuse_freed_cpu_memory()
    else:
        # glibc untouched: any mallopt call, even of the default values, would switch off
        # its dynamic mmap threshold; so the config's env_cfg must not apply it here
        cpu_memory.reuse_freed_cpu_memory = lambda enable=True: False
        applied = False
    step = {'bmn': _bmn_step, 'pem': _pem_step}[model]()
    for _ in range(2):
        step()
    times, faults = [], []
    for _ in range(steps):
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
    return dict(model=model, reuse=reuse, applied=applied,
                step_s=statistics.median(times), faults_per_step=statistics.median(faults),
                peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--models', default='bmn,pem')
    ap.add_argument('--pairs', type=int, default=2)
    ap.add_argument('--steps', type=int, default=3)
    ap.add_argument('--child', nargs=2, metavar=('MODEL', 'REUSE'), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(run_one(args.child[0], args.child[1] == 'on', args.steps)))
        return {}
    sys.path.insert(0, HERE)
    from machine_load import LoadMeter
    meter = LoadMeter()
    runs = []
    for model in args.models.split(','):
        for _ in range(args.pairs):
            for reuse in ('off', 'on'):
                out = subprocess.run([sys.executable, __file__, '--child', model, reuse,
                                      '--steps', str(args.steps)], capture_output=True,
                                     text=True, check=True, cwd=REPO)
                run = json.loads(out.stdout.strip().splitlines()[-1])
                print(f"{model} reuse {reuse}: step {run['step_s'] * 1e3:.1f} ms, "
                      f"{run['faults_per_step']:.0f} faults/step, "
                      f"peak RSS {run['peak_rss_mib']:.0f} MiB", flush=True)
                runs.append(run)
    summary = {}
    for model in args.models.split(','):
        for reuse in (False, True):
            sel = [r for r in runs if r['model'] == model and r['reuse'] == reuse]
            key = f"{model}_{'on' if reuse else 'off'}"
            summary[key] = {k: statistics.median(r[k] for r in sel)
                            for k in ('step_s', 'faults_per_step', 'peak_rss_mib')}
        summary[f'{model}_speedup'] = (summary[f'{model}_off']['step_s']
                                       / summary[f'{model}_on']['step_s'])
    summary['other_cpu_load'] = meter.other_cpu_load()
    print(json.dumps(summary))
    return summary


if __name__ == '__main__':
    main()
