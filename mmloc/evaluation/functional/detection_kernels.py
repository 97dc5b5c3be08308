"""Compiled parts of detection mAP (numba), for :mod:`.detection_map`: the greedy matching
and the per-class interpolated AP, each with the numpy path's bits.

* :func:`greedy_match`: every ranked prediction against the GTs of its (class, video)
  group, visited by decreasing IoU, at every threshold taking the first GT not yet taken
  (the official loop, run as written instead of in vectorised steps). The IoUs are the
  operations of ``detection_map._official_iou_rows`` (``+inf`` for a zero union). numpy's
  ``argsort`` decides the visiting order of equal IoUs, in an order of its own (the
  AVX-512 sort differs from a stable one), so a tie that could matter (two equal IoUs at
  or above the lowest threshold, unless they are of equal GT segments and only ``tp`` is
  asked for) hands the whole call back to the numpy path.
* :func:`class_aps`: the numpy path spends ~0.3 ms of array set-up per class (200
  ActivityNet classes, ten thresholds); here all run in one loop with the same IEEE
  operations: integer true-positive counts, ``tp / num_gt`` and ``tp / rank`` divisions,
  the precision made non-increasing from the right (a max, exact), the ``Δrecall *
  precision`` terms where recall changes, and their sum by numpy's own pairwise summation
  (:func:`_numpy_sum`: blocks of 128 in eight lanes, halves above).

Used when numba imports; numpy runs otherwise.
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
    # ap[c, t] for every class with GT and predictions (other rows are left as they are).
    # Only true positives enter: recall changes exactly there (count / num_gt is strictly
    # increasing), and the precision made non-increasing from the right takes its maximum
    # at one (count / rank only falls between them), so the terms, and their order, are
    # those of the full curves.
    n_thr = tp.shape[1]
    most = 0
    for c in range(num_gt.shape[0]):
        most = max(most, starts[c + 1] - starts[c])
    prec = np.empty((n_thr, most))
    rec = np.empty((n_thr, most))
    hits = np.empty(n_thr, np.int64)
    terms = np.empty(most + 1)
    for c in range(num_gt.shape[0]):
        lo, n = starts[c], starts[c + 1] - starts[c]
        if num_gt[c] == 0 or n == 0:
            continue
        total = float(num_gt[c])
        hits[:] = 0
        for k in range(n):                           # one gather of each ranked row
            row = orders[lo + k]
            for t in range(n_thr):
                if tp[row, t]:
                    m = hits[t]
                    rec[t, m] = (m + 1) / total
                    prec[t, m] = (m + 1) / (k + 1.0)
                    hits[t] = m + 1
        for t in range(n_thr):
            m = hits[t]
            for i in range(m - 2, -1, -1):
                if prec[t, i + 1] > prec[t, i]:
                    prec[t, i] = prec[t, i + 1]
            before = 0.0
            for i in range(m):
                terms[i] = (rec[t, i] - before) * prec[t, i]
                before = rec[t, i]
            if before != 1.0:                        # the padded last point: recall 1,
                terms[m] = (1.0 - before) * 0.0      # precision 0
                m += 1
            ap[c, t] = _numpy_sum(terms, m)


def _greedy_match(ranked, pr_seg, grp_lo, grp_size, gt_seg, gt_sorted, thr, tp, matched,
                  with_matched):
    # predictions ``ranked`` (class by class, best first), their segments and groups in
    # that order; False on a tie numpy's argsort would order (its outputs then partly
    # written)
    n_thr = thr.shape[0]
    lowest = np.inf
    for t in range(n_thr):
        lowest = min(lowest, thr[t])
    most = 0
    for p in range(grp_size.shape[0]):
        most = max(most, grp_size[p])
    locked = np.zeros((n_thr, gt_seg.shape[0]), np.bool_)
    iou = np.empty(most)
    order = np.empty(most, np.int64)
    for p in range(grp_size.shape[0]):
        g = grp_size[p]
        lo = grp_lo[p]
        start, end = pr_seg[p, 0], pr_seg[p, 1]
        length = end - start
        for j in range(g):                           # _official_iou_rows' operations
            q = gt_sorted[lo + j]
            gs, ge = gt_seg[q, 0], gt_seg[q, 1]
            inter = (end if end < ge else ge) - (start if start > gs else gs)
            if inter < 0.0:
                inter = 0.0
            union = (length + (ge - gs)) - inter
            v = inter / union if union > 0.0 else (np.inf if union == 0.0 else 0.0)
            iou[j] = v
            k = j                                    # insertion by decreasing IoU
            while k > 0 and iou[order[k - 1]] < v:
                order[k] = order[k - 1]
                k -= 1
            order[k] = j
        for k in range(1, g):
            if iou[order[k]] == iou[order[k - 1]] and iou[order[k]] >= lowest:
                # equal GT segments (duplicate annotations) are interchangeable: whichever
                # is taken first, every later IoU and so every tp is the same
                a, b = gt_sorted[lo + order[k]], gt_sorted[lo + order[k - 1]]
                if with_matched or gt_seg[a, 0] != gt_seg[b, 0] or gt_seg[a, 1] != gt_seg[b, 1]:
                    return False
        for t in range(n_thr):
            for k in range(g):
                j = order[k]
                if iou[j] < thr[t]:
                    break
                q = gt_sorted[lo + j]
                if locked[t, q]:
                    continue
                locked[t, q] = True
                tp[ranked[p], t] = True
                if with_matched:
                    matched[ranked[p], t] = q
                break
    return True


def greedy_match(class_order: list, pr_seg: np.ndarray, gt_seg: np.ndarray,
                 gt_sorted: np.ndarray, grp_lo: np.ndarray, grp_size: np.ndarray,
                 thr: np.ndarray, tp: np.ndarray, matched_gt: np.ndarray | None) -> bool:
    """The official greedy matching of every prediction, into ``tp`` and ``matched_gt``.

    Args:
        class_order: per class, prediction indices best first.
        pr_seg: (N, 2) float64 prediction segments. gt_seg: (M, 2) float64 GT segments.
        gt_sorted: (M,) GT indices grouped by (class, video), file order inside a group.
        grp_lo, grp_size: (N,) each prediction's group: ``gt_sorted[grp_lo:grp_lo +
            grp_size]`` (size 0: no GT of its class in its video).
        thr: (T,) thresholds.
        tp: (N, T) bool, all False, filled. matched_gt: (N, T) int64, all -1, filled with
            the flat GT index taken, or None.

    Returns False (``tp`` and ``matched_gt`` as they came) when numba cannot be imported or
    a tie needs numpy's order (see the module docstring); the caller then runs numpy.
    """
    kernels = _KERNELS.get()
    if kernels is None:
        return False
    ranked = np.concatenate(class_order).astype(np.int64, copy=False) if class_order \
        else np.zeros(0, np.int64)
    ranked = ranked[grp_size[ranked] > 0]       # the others match nothing
    # segments and groups in ranking order (np.take: a fancy index of rows is 50x slower)
    matched = matched_gt if matched_gt is not None else np.zeros((0, tp.shape[1]), np.int64)
    if not kernels[2](ranked, np.take(pr_seg, ranked, axis=0),
                      grp_lo[ranked].astype(np.int64, copy=False),
                      grp_size[ranked].astype(np.int64, copy=False), gt_seg,
                      gt_sorted.astype(np.int64, copy=False), thr, tp, matched,
                      matched_gt is not None):
        tp[:] = False
        matched[:] = -1
        return False
    return True


_KERNELS = LazyKernels(globals(), kernels=('_class_aps', '_numpy_sum', '_greedy_match'),
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
