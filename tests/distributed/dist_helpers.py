"""Helpers of the distributed tests: a tiny BMN config, free ports, launching the tools.

Also imported by the tool processes themselves (``custom_imports``) for
:class:`LossRecorderHook`, so keep this module free of pytest imports.
"""
from __future__ import annotations

import glob
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import torch.distributed as dist
from mmengine.hooks import Hook

from mmloc.registry import HOOKS

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
T, C = 16, 16

CONFIG = """
_base_ = ['{repo}/configs/_base_/models/bmn_400x100.py',
          '{repo}/configs/_base_/datasets/activitynet_feature.py',
          '{repo}/configs/_base_/schedules/adam_9e.py',
          '{repo}/configs/_base_/default_runtime.py']
custom_imports = dict(imports=['dist_helpers'], allow_failed_imports=False)
model = dict(temporal_dim={T}, feat_dim={C}, hidden_dim_1d=16, hidden_dim_2d=16,
             hidden_dim_3d=16, num_samples=4, num_samples_per_bin=2, post_process_top_k=20)
_load = dict(type='LoadLocalizationFeature', temporal_dim={T}, feat_dim={C})
_meta = ('video_name', 'duration_second', 'duration_frame', 'annotations', 'feature_frame')
_ds = dict(data_prefix=dict(video='{data}/features'))
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False, drop_last=True,
    dataset=dict(ann_file='{data}/anet_anno_train.json', **_ds,
                 pipeline=[_load, dict(type='GenerateLocalizationLabels'),
                           dict(type='PackLocalizationInputs', keys=('gt_segments',))]))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(ann_file='{data}/anet_anno_val.json', **_ds,
                 pipeline=[_load, dict(type='PackLocalizationInputs', meta_keys=_meta)]))
train_cfg = dict(max_epochs=2, val_begin=100, val_interval=1)
param_scheduler = [dict(type='MultiStepLR', begin=0, end=2, by_epoch=True, milestones=[5])]  # constant lr
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=1, save_best=None, max_keep_ckpts=-1))
custom_hooks = [dict(type='LossRecorderHook')]
randomness = dict(seed=0)
"""


def write_config(path: str, data_dir: str) -> str:
    with open(path, 'w') as f:
        f.write(CONFIG.format(repo=REPO, data=data_dir, T=T, C=C))
    return path


def free_port() -> int:
    """A TCP port nobody listens on now (bind to port 0 and ask the OS)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def tool_env(**extra) -> dict:
    """Environment of a tool process: this folder importable, one thread per process."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([HERE, REPO, env.get('PYTHONPATH', '')])
    env['OMP_NUM_THREADS'] = '1'
    env['PYTHON'] = sys.executable
    env['PORT'] = str(free_port())
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_tool(args: list, timeout: int = 400, **env) -> subprocess.CompletedProcess:
    """Run ``args`` (a tool command line) and fail with its output if it fails."""
    proc = subprocess.run(args, cwd=REPO, env=tool_env(**env), capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f'{args} exited with {proc.returncode}\n{proc.stdout[-4000:]}\n'
                             f'{proc.stderr[-6000:]}')
    return proc


def read_losses(work_dir: str) -> dict:
    """``{rank: [{'loss': .., 'tem': .., ...} per iteration]}`` written by LossRecorderHook."""
    out = {}
    for path in sorted(glob.glob(osp.join(work_dir, 'losses_rank*.jsonl'))):
        rank = int(osp.basename(path)[len('losses_rank'):-len('.jsonl')])
        with open(path) as f:
            out[rank] = [json.loads(line) for line in f]
    return out


def read_test_metrics(work_dir: str) -> dict:
    """The metrics mmengine's LoggerHook dumped at the end of ``runner.test()`` (full floats)."""
    paths = [p for p in glob.glob(osp.join(work_dir, '*', '*.json'))
             if osp.basename(p)[:-5] == osp.basename(osp.dirname(p))]
    assert len(paths) == 1, paths
    with open(paths[0]) as f:
        return json.load(f)


@HOOKS.register_module()
class LossRecorderHook(Hook):
    """Append every training iteration's losses of this rank to ``losses_rank<R>.jsonl``.

    mmengine logs rank 0's losses only; the distributed test needs every rank's to
    compare the mean over ranks with a single-process run.
    """

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
        record = {k: float(v) for k, v in (outputs or {}).items()}
        record['iter'] = runner.iter
        with open(osp.join(runner.work_dir, f'losses_rank{rank}.jsonl'), 'a') as f:
            f.write(json.dumps(record) + '\n')
