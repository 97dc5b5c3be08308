"""Keep the CPU memory a training step frees for the next step (glibc's malloc).

glibc serves every block above its mmap threshold (32 MiB at most) with a fresh ``mmap``
and gives it back to the OS on ``free``. A BMN step allocates and frees ~600 MB of such
tensors, so the next step touches them as new pages again: ~150k page faults a step
(~2 us each here, 0.3 s of a 1.3 s step). PyTorch's CUDA allocator caches freed blocks
for exactly this reason; on CPU the same effect is two ``mallopt`` settings: no mmap for
large blocks (they come from the heap) and no trimming of the heap's free top. The
process keeps its peak heap until it exits, which a training or test run does anyway.
Where the heap cannot grow in place (another mapping right above it) glibc still maps a
block afresh, so some steps of some processes may fault anyway.

Configs turn it on with ``env_cfg = dict(reuse_freed_cpu_memory=True)`` (the default
runtime); ``tools/train.py`` and ``tools/test.py`` apply it. Outside glibc (macOS,
Windows, musl) it does nothing.
"""
from __future__ import annotations

import ctypes
import platform
import sys
from typing import Mapping

_M_TRIM_THRESHOLD = -1          # glibc <malloc.h>
_M_MMAP_MAX = -4
_GLIBC_MMAP_MAX = 65536         # glibc's defaults, restored by enable=False
_GLIBC_TRIM_THRESHOLD = 128 * 1024
_KEEP_TRIM_THRESHOLD = 2 ** 31 - 1   # mallopt takes an int: never trim below 2 GiB free

_state = {'enabled': False}


def _mallopt():
    if not sys.platform.startswith('linux') or platform.libc_ver()[0] != 'glibc':
        return None
    try:
        return ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return None


def reuse_freed_cpu_memory(enable: bool = True) -> bool:
    """Keep freed CPU blocks in the heap for reuse (``enable=False``: glibc's default
    values; its dynamic mmap threshold, off after any ``mallopt``, stays off).

    Returns True when the setting was applied (glibc), False where it does nothing.
    Process-wide; worker processes forked afterwards inherit it.
    """
    mallopt = _mallopt()
    if mallopt is None:
        return False
    if enable:
        ok = mallopt(_M_MMAP_MAX, 0) and mallopt(_M_TRIM_THRESHOLD, _KEEP_TRIM_THRESHOLD)
    else:
        ok = (mallopt(_M_MMAP_MAX, _GLIBC_MMAP_MAX)
              and mallopt(_M_TRIM_THRESHOLD, _GLIBC_TRIM_THRESHOLD))
    _state['enabled'] = bool(ok) and enable
    return bool(ok)


def freed_cpu_memory_reused() -> bool:
    """Whether :func:`reuse_freed_cpu_memory` is on in this process."""
    return _state['enabled']


def apply_env_cpu_memory(env_cfg: Mapping | None) -> bool:
    """Apply ``env_cfg['reuse_freed_cpu_memory']`` (absent: leave malloc as it is).

    Returns whether the reuse is on afterwards.
    """
    value = (env_cfg or {}).get('reuse_freed_cpu_memory')
    if value is None:
        return freed_cpu_memory_reused()
    if not isinstance(value, bool):
        raise ValueError('env_cfg.reuse_freed_cpu_memory must be True or False, got '
                         f'{value!r}')
    reuse_freed_cpu_memory(value)
    return freed_cpu_memory_reused()
