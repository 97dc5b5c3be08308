"""Config loading and launcher set-up shared by tools/train.py and tools/test.py."""
from __future__ import annotations

import difflib
import os
import os.path as osp
from datetime import timedelta

import torch
import torch.distributed as dist
from mmengine.config import Config

# Top-level keys that mmengine's Runner reads. A config may define any other variable
# (data_root_val, feat_dim, ...), so only near-misses of these are treated as typos.
RUNNER_KEYS = {
    'default_scope', 'model', 'work_dir', 'train_dataloader', 'val_dataloader',
    'test_dataloader', 'train_cfg', 'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper',
    'param_scheduler', 'val_evaluator', 'test_evaluator', 'default_hooks', 'custom_hooks',
    'data_preprocessor', 'load_from', 'resume', 'launcher', 'env_cfg', 'log_processor',
    'log_level', 'visualizer', 'randomness', 'experiment_name', 'runner_type',
    'model_wrapper_cfg',
}


def load_config(path: str, cfg_options: dict | None = None) -> Config:
    """Load a config, merge ``--cfg-options`` and catch misspelt top-level keys.

    A top-level key that is unknown *and* close to a known one (``trian_dataloader``)
    is almost surely a typo that mmengine would silently ignore, so it is an error.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: config file not found')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    for key in cfg.keys():
        if key in RUNNER_KEYS or key.startswith('_'):
            continue
        close = difflib.get_close_matches(key, RUNNER_KEYS, n=1, cutoff=0.85)
        if close:
            raise KeyError(f'{path}: unknown top-level config key "{key}"; did you mean '
                           f'"{close[0]}"?')
    return cfg


def resolve_work_dir(cfg: Config, config_path: str, work_dir: str | None) -> str:
    """CLI ``--work-dir`` > config ``work_dir`` > ``./work_dirs/<config stem>``."""
    if work_dir is not None:
        return work_dir
    if cfg.get('work_dir', None) is not None:
        return cfg.work_dir
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def setup_launcher(cfg: Config, launcher: str) -> None:
    """Prepare ``cfg`` for the launcher; on CPU-only torch start a gloo group ourselves.

    mmengine's ``init_dist('pytorch')`` calls ``torch.cuda.set_device`` even for gloo, which
    fails without CUDA; the Runner skips its own initialisation when a process group
    already exists, so we create it here from torchrun's environment.
    """
    cfg.launcher = launcher
    if launcher == 'none':
        return
    if torch.cuda.is_available():
        return
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'gloo'
    # mmengine passes device_ids=[LOCAL_RANK] to DDP, which DDP refuses for CPU modules;
    # an explicit device_ids=None in the wrapper config wins over that default.
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if launcher == 'pytorch' and not dist.is_initialized():
        for var in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
            if var not in os.environ:
                raise RuntimeError(f'--launcher pytorch needs ${var} (start the tool with torchrun '
                                   'or tools/dist_train.sh)')
        dist.init_process_group(backend='gloo', init_method='env://',
                                timeout=timedelta(minutes=30))
