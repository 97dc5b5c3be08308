"""Safe checkpoint reading under torch >= 2.6: ``weights_only=True`` plus an allow-list.

mmengine 0.10 calls ``torch.load`` without ``weights_only``; torch >= 2.6 defaults it to
True and refuses mmengine's own checkpoints (numpy arrays and ``HistoryBuffer`` in the
message hub). :func:`safe_torch_load` keeps ``weights_only=True`` and admits an explicit
allow-list of plain-data types, so loading a checkpoint never executes arbitrary pickled
code. Users who trust a file that needs more can opt in with ``--unsafe-load`` (tools) /
:func:`set_unsafe_checkpoint_loading`.

Importing this module changes nothing outside it: mmengine's Runner uses
:func:`safe_torch_load` only after :func:`mmloc.engine.setup_runtime` has installed
:func:`mmloc.engine.checkpoint.load_from_local` as its local-file loader.
"""
from __future__ import annotations

import os.path as osp
import pickle
import threading

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

_UNSAFE = {'enabled': False}
# torch's safe_globals context sets and restores one process-wide list: two threads loading at
# once would restore it under each other's feet (a valid checkpoint then reads as unsafe)
_LOAD_LOCK = threading.Lock()


def _numpy_globals() -> list:
    """numpy objects a pickled ndarray / scalar refers to (data only, no code paths)."""
    allowed = [np.ndarray, np.dtype]
    for mod_name in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        try:
            mod = __import__(mod_name, fromlist=['_reconstruct', 'scalar'])
        except ImportError:
            continue
        allowed += [mod._reconstruct, mod.scalar]
        break
    allowed += [type(np.dtype(t)) for t in (
        'b1', 'i1', 'i2', 'i4', 'i8', 'u1', 'u2', 'u4', 'u8', 'f2', 'f4', 'f8', 'c8', 'c16', 'U', 'S', 'O')]
    return allowed


# Listed explicitly: HistoryBuffer._statistics_methods is only filled once a first buffer
# exists, which is not the case in a fresh process that loads a checkpoint.
_HISTORY_BUFFER_STATISTICS = frozenset({'min', 'max', 'current', 'mean'})


def _restricted_getattr(obj, name: str):
    """Stand-in for ``builtins.getattr`` while unpickling.

    ``HistoryBuffer`` pickles its statistics methods as ``getattr(HistoryBuffer, 'mean')``;
    a general ``getattr`` would let a crafted file reach arbitrary code, so only those
    lookups are allowed.
    """
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_STATISTICS:
        return getattr(obj, name)
    raise pickle.UnpicklingError(f'getattr({obj!r}, {name!r}) is not allowed in a checkpoint')


SAFE_GLOBALS = [HistoryBuffer, (_restricted_getattr, 'builtins.getattr'), *_numpy_globals()]


def set_unsafe_checkpoint_loading(enabled: bool) -> None:
    """Allow full pickle loading (``weights_only=False``) for trusted checkpoints."""
    _UNSAFE['enabled'] = bool(enabled)


def safe_torch_load(filename: str, map_location=None):
    """``torch.load`` restricted to tensors, containers and :data:`SAFE_GLOBALS`."""
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename}: checkpoint file not found')
    if _UNSAFE['enabled']:
        return torch.load(filename, map_location=map_location, weights_only=False)
    try:
        with _LOAD_LOCK, torch.serialization.safe_globals(SAFE_GLOBALS):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise RuntimeError(
            f'{filename}: the checkpoint holds objects outside mmloc\'s safe allow-list, so it '
            'was not loaded (loading it would run pickled code). If you trust this file, rerun '
            f'with --unsafe-load. Details: {str(e).splitlines()[0]}') from None
    except (RuntimeError, EOFError) as e:
        raise RuntimeError(f'{filename}: cannot read checkpoint (truncated or not a torch '
                           f'checkpoint?): {e}') from None

