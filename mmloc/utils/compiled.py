"""Functions compiled by numba on first use, for the hot loops that numpy cannot vectorise.

numba is optional (``requirements/runtime.txt``): importing it costs ~0.4 s and ~55 MiB
resident, which a process that never runs such a loop should not pay, so it is imported by
the first :meth:`LazyKernels.get`. When it cannot be imported (not installed, built for
another numpy) ``get`` returns None and the caller runs its numpy path.
"""
from __future__ import annotations

import threading


class LazyKernels:
    """A module's kernels, jitted on the first :meth:`get` (compiled, or loaded from numba's
    cache, on their first call per argument types).

    Args:
        namespace: the module's ``globals()``; the helpers are replaced there by their jitted
            versions, since numba resolves a kernel's calls among its globals.
        kernels: names of the functions :meth:`get` returns, in that order.
        helpers: names of the functions the kernels call (a helper may be a kernel too).
        unrefcounted: names among ``helpers`` that allocate no array and return none,
            compiled without numba's reference counting: each call passing an array
            otherwise pays atomic reference updates (~10 ns a call on a 2-core EPYC, 20x the
            work of a helper that skips a few bytes; inlining does not remove them). Such a
            helper is called from compiled code only (from Python, unboxing its arrays
            would need the runtime it lacks), so it cannot be a kernel.
    """

    def __init__(self, namespace: dict, kernels: tuple, helpers: tuple = (),
                 unrefcounted: tuple = ()) -> None:
        self._namespace = namespace
        self._kernels, self._helpers = tuple(kernels), tuple(helpers)
        self._unrefcounted = frozenset(unrefcounted)
        if self._unrefcounted & set(self._kernels) or self._unrefcounted - set(self._helpers):
            raise ValueError('unrefcounted names must be helpers and not kernels')
        self._made = None   # the jitted kernels, or False once numba failed to import
        self._lock = threading.Lock()

    def get(self):
        """The jitted kernels (a tuple), or None when numba cannot be imported."""
        if self._made is None:
            with self._lock:
                if self._made is None:
                    self._made = self._jit()
        return self._made or None

    def _jit(self):
        try:
            import numba
        except ImportError:          # e.g. built for another numpy: numpy runs
            return False
        # cache=True: compiled once per machine (numba falls back to a user cache
        # directory when the package's own is read-only)
        jit = numba.njit(cache=True, nogil=True)
        plain = numba.njit(cache=True, nogil=True, _nrt=False)
        for name in self._helpers:
            self._namespace[name] = (plain if name in self._unrefcounted else jit)(
                self._namespace[name])
        return tuple(self._namespace[name] if name in self._helpers   # jitted above
                     else jit(self._namespace[name]) for name in self._kernels)
