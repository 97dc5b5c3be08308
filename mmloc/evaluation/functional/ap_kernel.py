"""Compiled per-class interpolated AP (numba), for :func:`.detection_map.compute_detection_map`.

The numpy path spends ~0.3 ms of array set-up per class (200 ActivityNet classes, ten
thresholds) on curves of a few thousand points; here all classes and thresholds run in one
compiled loop with the same IEEE operations: integer true-positive counts, ``tp / num_gt``
and ``tp / rank`` divisions, the precision made non-increasing from the right (a max,
exact), the ``Δrecall * precision`` terms where recall changes, and their sum by numpy's
own pairwise summation (:func:`_numpy_sum`: blocks of 128 in eight lanes, halves above), so
every AP has the bits of the numpy path's ``np.sum``. Used when numba imports; numpy runs
otherwise.
"""
from __future__ import annotations

import numpy as np

from mmloc.utils.compiled import LazyKernels

#: numpy's pairwise-summation block (``PW_BLOCKSIZE`` of its add reduction)
_PAIRWISE_BLOCK = 128


def _block_sum(a, lo, n):
    # numpy's sum of a block a[lo:lo + n], n <= 128: eight lanes, then the rest in order
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    stop = n - n % 8
    while i < stop:
        j = lo + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for j in range(lo + i, lo + n):
        res += a[j]
    return res


#: deepest split of :func:`_numpy_sum` (n < 2**64 halves at most 64 times)
_MAX_DEPTH = 64


def _numpy_sum(a, n):
    """``np.sum(a[:n])`` of a float64 array, bit for bit: the reduction's 0.0 start plus
    numpy's pairwise sum (blocks of up to 128; above, the sum of two halves, the first a
    multiple of 8). The halving runs on an explicit stack: numba's cache mis-loads
    recursive functions."""
    if n <= _PAIRWISE_BLOCK:
        return 0.0 + _block_sum(a, 0, n)
    frames = np.empty((_MAX_DEPTH, 3), np.int64)     # (lo, n, halves summed so far)
    values = np.empty(_MAX_DEPTH + 1)
    top, n_values = 0, 0
    frames[0, 0], frames[0, 1], frames[0, 2] = 0, n, 0
    while top >= 0:
        lo, m, stage = frames[top, 0], frames[top, 1], frames[top, 2]
        if m <= _PAIRWISE_BLOCK:
            values[n_values] = _block_sum(a, lo, m)
            n_values += 1
            top -= 1
            continue
        half = m // 2
        half -= half % 8
        if stage == 2:                                # both halves summed: left + right
            values[n_values - 2] = values[n_values - 2] + values[n_values - 1]
            n_values -= 1
            top -= 1
            continue
        frames[top, 2] = stage + 1
        top += 1
        frames[top, 0] = lo if stage == 0 else lo + half
        frames[top, 1] = half if stage == 0 else m - half
        frames[top, 2] = 0
    return 0.0 + values[0]


def _class_aps(tp, orders, starts, num_gt, ap):
    # ap[c, t] for every class with GT and predictions (other rows are left as they are)
    n_thr = tp.shape[1]
    most = 0
    for c in range(num_gt.shape[0]):
        most = max(most, starts[c + 1] - starts[c])
    prec = np.empty(most + 2)
    rec = np.empty(most + 2)
    terms = np.empty(most + 1)
    for c in range(num_gt.shape[0]):
        lo, n = starts[c], starts[c + 1] - starts[c]
        if num_gt[c] == 0 or n == 0:
            continue
        total = float(num_gt[c])
        for t in range(n_thr):
            count = 0
            prec[0] = 0.0
            rec[0] = 0.0
            for k in range(n):
                count += tp[orders[lo + k], t]
                rec[k + 1] = count / total
                prec[k + 1] = count / (k + 1.0)
            prec[n + 1] = 0.0
            rec[n + 1] = 1.0
            for i in range(n, -1, -1):
                if prec[i + 1] > prec[i]:
                    prec[i] = prec[i + 1]
            m = 0
            for i in range(n + 1):
                if rec[i + 1] != rec[i]:
                    terms[m] = (rec[i + 1] - rec[i]) * prec[i + 1]
                    m += 1
            ap[c, t] = _numpy_sum(terms, m)


_KERNELS = LazyKernels(globals(), kernels=('_class_aps', '_numpy_sum'),
                       helpers=('_block_sum', '_numpy_sum'), unrefcounted=('_block_sum',))


def class_aps(tp: np.ndarray, class_order: list, num_gt: np.ndarray, ap: np.ndarray) -> bool:
    """Fill ``ap`` (C, T) with each class's interpolated AP at each threshold, as the numpy
    path of :func:`.detection_map.compute_detection_map` computes it, bit for bit.

    Args:
        tp: (N, T) bool, true positives of the N predictions at the T thresholds.
        class_order: C index arrays, each class's predictions best first.
        num_gt: (C,) int GT instances per class; rows of classes without GT or without
            predictions are not written.
        ap: (C, T) float64 output.

    Returns False (``ap`` untouched) when numba cannot be imported.
    """
    kernels = _KERNELS.get()
    if kernels is None:
        return False
    sizes = np.fromiter(map(len, class_order), np.int64, len(class_order))
    starts = np.zeros(len(class_order) + 1, np.int64)
    np.cumsum(sizes, out=starts[1:])
    orders = np.concatenate(class_order).astype(np.int64, copy=False) if class_order \
        else np.zeros(0, np.int64)
    kernels[0](np.ascontiguousarray(tp, dtype=np.bool_), orders, starts,
               np.asarray(num_gt, np.int64), ap)
    return True
