"""Hooks: a progress bar for val/test loops."""
from __future__ import annotations

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
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
        if is_main_process():
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
