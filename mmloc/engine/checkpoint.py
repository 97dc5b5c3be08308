"""The local-file checkpoint loader mmloc's tools give mmengine's Runner.

The reading itself (``weights_only=True`` with an allow-list) lives in
:mod:`mmloc.utils.checkpoint`, where models can use it too; the names are re-exported here.
:func:`load_from_local` is registered for plain paths by :func:`mmloc.engine.setup_runtime`,
not at import.
"""
import os.path as osp

from mmloc.utils.checkpoint import SAFE_GLOBALS, safe_torch_load, set_unsafe_checkpoint_loading

__all__ = ['SAFE_GLOBALS', 'load_from_local', 'safe_torch_load', 'set_unsafe_checkpoint_loading']


def load_from_local(filename: str, map_location=None):
    """Local-file loader for mmengine (``load_from``, ``--resume``, tools/test.py)."""
    filename = osp.expanduser(filename)
    return safe_torch_load(filename, map_location=map_location)
