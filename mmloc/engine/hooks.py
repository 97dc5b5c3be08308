"""Hooks: a progress bar for val/test loops; RNG state in checkpoints."""
from __future__ import annotations

import random
import sys

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size, is_main_process
from mmengine.hooks import EMAHook, Hook
from mmengine.utils import ProgressBar

from mmloc.registry import HOOKS


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """Shows a progress bar (videos done / total, rate, ETA) while testing or validating."""

    priority = 'VERY_LOW'

    def __init__(self, on_val: bool = False) -> None:
        self.on_val = on_val
        self._bar = None

    def _start(self, runner, dataloader) -> None:
        # in a terminal only: redirected to a file, '\r' updates would flood the log, and
        # mmengine's logger already reports "Epoch(test) [i/n]" every interval
        if is_main_process() and sys.stdout.isatty():
            self._bar = ProgressBar(len(dataloader.dataset))

    def _step(self, data_batch) -> None:
        if self._bar is not None:
            n = len(data_batch['inputs']) if isinstance(data_batch, dict) else 1
            for _ in range(n):
                self._bar.update()

    def _finish(self) -> None:
        if self._bar is not None:
            self._bar.file.write('\n')
            self._bar.file.flush()
            self._bar = None

    def before_test_epoch(self, runner) -> None:
        self._start(runner, runner.test_dataloader)

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._step(data_batch)

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._finish()

    def before_val_epoch(self, runner) -> None:
        if self.on_val:
            self._start(runner, runner.val_dataloader)

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if self.on_val:
            self._step(data_batch)

    def after_val_epoch(self, runner, metrics=None) -> None:
        if self.on_val:
            self._finish()


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


@HOOKS.register_module()
class LocalizationEMAHook(EMAHook):
    """mmengine's ``EMAHook`` that also works when a run only tests a checkpoint.

    ``tools/test.py`` loads the checkpoint before ``before_run`` builds the EMA model, where
    mmengine's hook fails. mmengine saves checkpoints with the EMA weights swapped into
    ``state_dict`` (``before_save_checkpoint``), so the model then already holds them and the
    EMA copy made in ``before_run`` equals it: nothing to load here.

    An official ActionFormer / TriDet file (``state_dict`` + ``state_dict_ema``, spec §2.8)
    is evaluated with its EMA weights, as upstream's ``eval.py`` does: the runner calls this
    hook before it loads ``state_dict`` into the model, so ``state_dict`` is replaced by
    ``state_dict_ema`` here (the model's key map then removes ``module.``).
    """

    def after_load_checkpoint(self, runner, checkpoint) -> None:
        if 'state_dict_ema' in checkpoint and 'state_dict' in checkpoint:
            checkpoint['state_dict'] = checkpoint['state_dict_ema']
            if runner is not None:
                runner.logger.info('official ActionFormer / TriDet checkpoint: loading its '
                                   'state_dict_ema (the weights upstream evaluates)')
        if not hasattr(self, 'ema_model'):
            return
        super().after_load_checkpoint(runner, checkpoint)
