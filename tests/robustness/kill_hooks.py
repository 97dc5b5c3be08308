"""A hook that SIGKILLs its own training process, for the crash/resume test.

Imported by the tool process through ``custom_imports``; it only acts when
``MMLOC_TEST_KILL_AT_ITER`` is set, so the same config also runs uninterrupted.
"""
import os
import signal

from mmengine.hooks import Hook

from mmloc.registry import HOOKS


@HOOKS.register_module()
class SelfKillHook(Hook):
    """SIGKILL (no clean-up, no atexit, no flush) after training iteration ``N`` (0-based)."""

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        at = os.environ.get('MMLOC_TEST_KILL_AT_ITER')
        if at is not None and runner.iter == int(at):
            os.kill(os.getpid(), signal.SIGKILL)
