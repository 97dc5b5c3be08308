"""A hook that SIGKILLs its own training process, for the crash/resume tests.

Imported by the tool process through ``custom_imports``; it only acts when
``MMLOC_TEST_KILL`` (or the older ``MMLOC_TEST_KILL_AT_ITER=N``) is set, so the same config
also runs uninterrupted. ``MMLOC_TEST_KILL`` is ``<kind>:<n>[:<fraction>]``:

* ``iter:N``: after training iteration ``N`` (0-based);
* ``ckpt_write:N:F``: while the ``N``-th checkpoint (1-based) is written, after a share
  ``F`` of its bytes reached the temp file;
* ``ckpt_fsync:N``: the ``N``-th checkpoint is written in full, killed before its fsync;
* ``ckpt_replace:N``: the ``N``-th checkpoint is written and synced, killed before the
  rename that publishes it.
"""
import os
import signal

from mmengine.hooks import Hook

from mmloc.registry import HOOKS


def _die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_spec():
    spec = os.environ.get('MMLOC_TEST_KILL')
    if spec is None and os.environ.get('MMLOC_TEST_KILL_AT_ITER') is not None:
        spec = f'iter:{os.environ["MMLOC_TEST_KILL_AT_ITER"]}'
    if spec is None:
        return None
    kind, n, *rest = spec.split(':')
    return kind, int(n), float(rest[0]) if rest else None


def _kill_during_checkpoint(kind: str, n: int, fraction) -> None:
    """Wrap the checkpoint writer (``AtomicLocalBackend.put``) to die inside the n-th save."""
    from mmloc.engine.fileio import AtomicLocalBackend
    from mmloc.utils import io as mmloc_io
    original = AtomicLocalBackend.put
    count = {'n': 0}

    def put(self, obj, filepath):
        if str(filepath).endswith('.pth'):
            count['n'] += 1
            if count['n'] == n:
                if kind == 'ckpt_write':
                    with mmloc_io.atomic_open(filepath, 'wb') as f:
                        f.write(obj[:int(len(obj) * fraction)])
                        f.flush()
                        _die()
                os.fsync = _die if kind == 'ckpt_fsync' else os.fsync
                os.replace = _die if kind == 'ckpt_replace' else os.replace
        return original(self, obj, filepath)

    AtomicLocalBackend.put = put


@HOOKS.register_module()
class SelfKillHook(Hook):
    """SIGKILL (no clean-up, no atexit, no flush) at the point ``MMLOC_TEST_KILL`` names."""

    def before_run(self, runner) -> None:
        spec = _kill_spec()
        if spec is not None and spec[0].startswith('ckpt_'):
            _kill_during_checkpoint(*spec)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        spec = _kill_spec()
        if spec is not None and spec[0] == 'iter' and runner.iter == spec[1]:
            _die()
