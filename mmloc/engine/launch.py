"""Config loading and launcher set-up shared by tools/train.py and tools/test.py."""
from __future__ import annotations

import difflib
import os
import random
import os.path as osp
from datetime import timedelta

import numpy as np
import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.fileio.backends import LocalBackend, register_backend
from mmengine.logging import HistoryBuffer

from mmloc.registry import HOOKS
from mmloc.utils.io import atomic_open

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


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend, writing through a temp file + rename.

    mmengine saves checkpoints with ``open(path, 'wb').write(...)``: a crash (SIGKILL,
    node failure) during the write leaves a truncated ``epoch_N.pth``. Registered for
    plain paths below, so every checkpoint the Runner saves is complete or absent.
    """

    def put(self, obj: bytes, filepath) -> None:
        with atomic_open(filepath, 'wb') as f:
            f.write(obj)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        with atomic_open(filepath, 'w', encoding=encoding) as f:
            f.write(obj)


register_backend('local', AtomicLocalBackend, force=True, prefixes='')

# mmengine fills HistoryBuffer._statistics_methods (min/max/current/mean) only when a first
# buffer is created, and mmloc.engine.checkpoint's getattr allow-list reads that dict: in a
# fresh process (tools/test.py, --resume) every Runner checkpoint was refused. Creating
# one buffer at import fills it. (Better fixed in checkpoint.py by listing the 4 names.)
HistoryBuffer()


def _rng_state() -> dict:
    state = dict(python=random.getstate(), numpy=np.random.get_state(), torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state()
    return state


def _set_rng_state(state: dict) -> None:
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state['cuda'])


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save every rank's python/numpy/torch RNG state in checkpoints; restore it on resume.

    mmengine re-seeds on resume but does not restore the generators, so a resumed run
    draws different random numbers than an uninterrupted one (BMN's PEM-reg loss samples
    cells with ``torch.rand_like``). Added to every training config by tools/train.py.
    States are plain tensors/arrays/tuples, loadable with ``weights_only``.

    ``Runner.save_checkpoint`` runs on rank 0 only, so the states of all ranks are
    gathered earlier, at the points where CheckpointHook (lower priority) may save.
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self._pending = None
        self._gathered = None

    def _gather(self) -> None:
        self._gathered = all_gather_object(_rng_state())

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if get_world_size() == 1:
            return
        for hook in runner.hooks:
            if type(hook).__name__.endswith('CheckpointHook') and not hook.by_epoch and (
                    self.every_n_train_iters(runner, hook.interval)
                    or self.is_last_train_iter(runner)):
                self._gather()
                return

    def after_train_epoch(self, runner) -> None:
        if get_world_size() > 1:
            self._gather()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if get_world_size() == 1:
            checkpoint['rng_state'] = [_rng_state()]
        elif self._gathered is not None:
            checkpoint['rng_state'] = self._gathered

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if getattr(runner, '_resume', False) and checkpoint.get('rng_state'):
            self._pending = checkpoint['rng_state']

    def before_train(self, runner) -> None:
        # after the Runner's own re-seeding, just before the first resumed iteration
        if self._pending is None:
            return
        states, self._pending = self._pending, None
        if len(states) == get_world_size():
            _set_rng_state(states[get_rank()])
        else:
            runner.logger.warning(f'RNG states of {len(states)} ranks in the checkpoint, '
                                  f'{get_world_size()} ranks now: random streams not restored')
