"""The one place where mmloc changes mmengine's process-wide behaviour, on request.

Importing mmloc (or any of its modules) leaves mmengine as it is. The tools
(``tools/train.py``, ``tools/test.py``, ``tools/infer.py``, ``tools/misc/*``) and the Python
entry points they share (:func:`mmloc.apis.build_train_config`,
:func:`mmloc.apis.build_test_config`, :func:`mmloc.apis.init_localizer`) call
:func:`setup_runtime` when they start.
"""
from __future__ import annotations

from typing import Optional

from mmengine.fileio.backends import register_backend
from mmengine.runner.checkpoint import CheckpointLoader

from mmloc.utils.checkpoint import set_unsafe_checkpoint_loading

from .checkpoint import load_from_local
from .fileio import AtomicLocalBackend


def setup_runtime(unsafe_load: Optional[bool] = None) -> None:
    """Install mmloc's checkpoint loader and file backend in mmengine (idempotent).

    * plain paths load through :func:`mmloc.engine.checkpoint.load_from_local`
      (``weights_only=True`` with an allow-list; mmengine's own loader fails on its own
      checkpoints under torch >= 2.6);
    * plain paths write through :class:`mmloc.engine.fileio.AtomicLocalBackend` (a
      checkpoint is complete or absent after a crash).

    Both replace mmengine's entries for the ``''`` prefix for the whole process, which is
    why this is a call a tool makes and not something an import does.

    Args:
        unsafe_load: if given, also set full-pickle loading on (True, ``--unsafe-load``) or
            off (False); None leaves the current setting
            (:func:`mmloc.utils.checkpoint.set_unsafe_checkpoint_loading`).
    """
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    if unsafe_load is not None:
        set_unsafe_checkpoint_loading(unsafe_load)
