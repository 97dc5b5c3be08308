"""Compiled Soft-NMS rounds (numba), for :func:`mmloc.models.post_processing.nms.soft_nms`.

A Soft-NMS call on a few hundred candidates (BMN, BSN PEM) spends its time in numpy's cost per
call: a hundred rounds of an ``argmax`` and a multiply, and the decay rows. Here the rounds and
the pair geometry run compiled, in three steps:

1. :func:`decaying_pairs` (compiled): every pair ``(m, j)`` where a kept ``m`` would decay ``j``,
   with its IoU, grouped by ``m`` (CSR rows).
2. The decay weights of those IoUs come from numpy (``exp`` of the same values as the numpy
   path's rows, lane by lane: numpy's exp gives each lane the same bits however the lanes are
   laid out), so no compiled ``exp`` enters the scores.
3. :func:`greedy_rounds` (compiled): the rounds, each the first maximum of the live scores
   (from maxima of blocks of 64, not a pass over all N) and its row's multiplies.

Every IoU goes through the same IEEE operations in the same order as in
``nms._PairGeometry.decaying`` (min, max, subtract, add, divide; no fused multiply-add can
form), in the candidates' dtype, so the kept ids and scores are the numpy path's, bit for bit.
Used only when numba is installed (``requirements/runtime.txt``), which is imported on the
first call; numpy runs otherwise.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from mmloc.utils.compiled import LazyKernels


def available() -> bool:
    """Whether the compiled rounds can run: numba is installed and imports (on the first call,
    see :func:`_compiled`)."""
    return _compiled() is not None


def _compiled():
    """The jitted ``(_decaying_rows, _greedy_rounds)``, made on the first call; None when
    numba cannot be imported (a process that never runs Soft-NMS does not import it)."""
    return _KERNELS.get()


def _inter_union(sm, em, km, sj, ej, lj, mmaction2_union):
    # _PairGeometry.decaying's operations, in its order
    inter = (ej if ej < em else em) - (sj if sj > sm else sm)
    # ((kept_len - inter) + end_j) - start_j, or kept_len + len_j - inter
    union = ((km - inter) + ej) - sj if mmaction2_union else (km + lj) - inter
    return inter, union


def _decaying_rows(start, end, kept_len, thresholds, mmaction2_union, order, first, stop,
                   slack, by_start, end_by_start, length_by_start, ptr, cols, ious):
    # every row into cols / ious (CSR by ptr); returns the first row that did not fit (n when
    # all did)
    n = start.shape[0]
    cap = cols.shape[0]
    maybe = np.empty(n, np.bool_)
    k = 0
    for m in range(n):
        sm, em, km, thr = start[m], end[m], kept_len[m], thresholds[m]
        lo, hi = first[m], stop[m]
        # IoU > thr needs inter > 0 and inter >= thr * union up to rounding (``slack`` covers
        # it): a test without the division, in a loop without branches (vectorised)
        for p in range(lo, hi):
            inter, union = _inter_union(sm, em, km, by_start[p], end_by_start[p],
                                        length_by_start[p], mmaction2_union)
            maybe[p - lo] = (inter > 0) & (inter >= (thr * union) * slack)
        for p in range(lo, hi):
            if not maybe[p - lo]:
                continue
            inter, union = _inter_union(sm, em, km, by_start[p], end_by_start[p],
                                        length_by_start[p], mmaction2_union)
            iou = inter / union
            j = order[p]
            if (j != m) & (iou > thr):
                if k == cap:
                    return m
                cols[k] = j
                ious[k] = iou
                k += 1
        ptr[m + 1] = k
    return n


#: candidates per block of :func:`_greedy_rounds`' block maxima
_BLOCK = 64


def _block_max(work, block):
    # the largest score in one block (no NaN: the scores are finite or -inf)
    best = -np.inf
    for i in range(block * _BLOCK, min((block + 1) * _BLOCK, work.shape[0])):
        if work[i] > best:
            best = work[i]
    return best


def _greedy_rounds(work, live, ptr, cols, weights, limit, stop_at, has_min_score, min_score):
    # numpy's argmax (the first maximum) from block maxima: a round scans N / 64 maxima and
    # one block instead of all N scores; a block whose maximum a round lowered is rescanned
    n = work.shape[0]
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    block_max = np.empty(n_blocks, work.dtype)
    for b in range(n_blocks):
        block_max[b] = _block_max(work, b)
    stale = np.zeros(n_blocks, np.bool_)
    stale_list = np.empty(n_blocks, np.int64)
    n_stale = 0
    n_live = 0
    for i in range(n):
        if live[i]:
            n_live += 1
    keep = np.empty(min(limit, n), np.int64)
    kept_scores = np.empty(min(limit, n), work.dtype)
    k = 0
    while n_live > stop_at and k < limit:
        for q in range(n_stale):
            b = stale_list[q]
            block_max[b] = _block_max(work, b)
            stale[b] = False
        n_stale = 0
        top, best = 0, block_max[0]
        for b in range(1, n_blocks):
            if block_max[b] > best:
                top, best = b, block_max[b]
        m = top * _BLOCK
        while work[m] != best:             # the first maximum of the first block holding it
            m += 1
        if not live[m]:                    # live scores of -inf: the first live one
            for i in range(n):
                if live[i]:
                    m = i
                    break
        keep[k] = m
        kept_scores[k] = work[m]
        k += 1
        live[m] = False
        n_live -= 1
        # p = -1 is m itself (its score becomes -inf), then its row; one loop body updates
        # the block maxima for both (a helper function for it made the rounds 2x slower)
        for p in range(-1, ptr[m + 1] - ptr[m]):
            j = m if p < 0 else cols[ptr[m] + p]
            if p >= 0:
                if not live[j]:            # kept or dead: never kept again
                    continue
                decayed = work[j] * weights[ptr[m] + p]
                if has_min_score and decayed < min_score:
                    live[j] = False
                    n_live -= 1
                    decayed = -np.inf
            else:
                decayed = -np.inf          # m itself, kept
            b = j // _BLOCK
            if decayed > block_max[b]:     # (weights are <= 1: only for safety)
                block_max[b] = decayed
            elif work[j] == block_max[b] and decayed != work[j] and not stale[b]:
                stale[b] = True
                stale_list[n_stale] = b
                n_stale += 1
            work[j] = decayed
    return keep[:k].copy(), kept_scores[:k].copy()


_KERNELS = LazyKernels(globals(), kernels=('_decaying_rows', '_greedy_rounds'),
                       helpers=('_inter_union', '_block_max'))


def scanned_pairs(start: np.ndarray, end: np.ndarray, length: np.ndarray,
                  thresholds: Optional[np.ndarray] = None, rows: Optional[np.ndarray] = None,
                  order: Optional[np.ndarray] = None
                  ) -> Tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """The pairs :func:`decaying_pairs` will look at: each row's scan in start order.

    Row ``m`` scans the candidates ``j`` that start before ``m`` ends and after ``m``'s start
    less the longest length (any other cannot overlap ``m``), and, with a threshold
    ``t > 0``, within ``len_m (1 - t) / t`` of ``m``'s start (the IoU is at most
    ``len_m / (len_m + |start_j - start_m|)``), with ``t`` lowered by far more than the
    rounding of the IoU can add.

    Args:
        start, end, length: (N,) finite, ``length = end - start >= 0``, any one unit.
        thresholds: None, or (N,) the IoU threshold while ``m`` is kept.
        rows: None (all), or (R,) int64: scan only these rows (a sample that estimates the
            count before the full scan is paid for).
        order: None, or the ``order`` an earlier call returned for these candidates.

    Returns:
        the number of pairs the rows scan, ``order`` (N,) int64 (candidates by start,
        stable), and ``first``, ``stop`` (N,) int64, or (R,) for ``rows``: row ``m`` scans
        ``order[first[m]:stop[m]]``.
    """
    order = np.argsort(start, kind='stable').astype(np.int64) if order is None else order
    by_start = start[order]
    s64, e64, len64 = (np.asarray(a, np.float64) for a in (start, end, length))
    longest = float(len64.max()) if len(len64) else 0.0
    magnitude = float(np.abs(s64).max() + np.abs(e64).max()) if len(s64) else 0.0
    if rows is not None:
        s64, e64, len64 = s64[rows], e64[rows], len64[rows]
        thresholds = None if thresholds is None else np.asarray(thresholds)[rows]
    margin = 1e-9 * magnitude + 1e-300
    lower = s64 - (longest * (1 + 1e-6) + margin)
    upper = e64
    if thresholds is not None:
        eps = float(np.finfo(start.dtype).eps)
        with np.errstate(all='ignore'):
            # the IoU's rounding: a relative error of at most ~10 eps * magnitude / len_m
            t = np.asarray(thresholds, np.float64) / (1 + 1e3 * eps * magnitude / len64)
            radius = np.where(t > 0, len64 * (1 - t) / t, np.inf) * (1 + 1e-6) + margin
        radius = np.where(np.isnan(radius), np.inf, radius)
        lower = np.maximum(lower, s64 - radius)
        upper = np.minimum(upper, s64 + radius)
    first = np.searchsorted(by_start, lower, 'left').astype(np.int64)
    stop = np.maximum(np.searchsorted(by_start, upper, 'left'), first).astype(np.int64)
    return int((stop - first).sum()), order, first, stop


def decaying_pairs(start: np.ndarray, end: np.ndarray, length: np.ndarray, kept_len: np.ndarray,
                   thresholds: Optional[np.ndarray], union: str, order: np.ndarray,
                   first: np.ndarray, stop: np.ndarray
                   ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair ``(m, j)``, ``j != m``, in which a kept ``m`` decays ``j``, with its IoU.

    A pair decays when the two overlap (intersection > 0) and, with ``thresholds``, when
    ``IoU > thresholds[m]`` (any sign: the overlap is always tested). Lengths must be >= 0
    and segments finite (the scan's windows rest on it; :func:`nms.uses_kernel` checks).

    Args:
        start, end, length, kept_len: (N,) one float dtype (``kept_len``: the length of ``m``
            in the union, ``length`` or its floor).
        thresholds: None or (N,) the IoU threshold while ``m`` is kept.
        union: ``'sum'`` or ``'mmaction2'`` (see :func:`nms.soft_nms`).
        order, first, stop: from :func:`scanned_pairs`.

    Returns:
        ``ptr`` (N + 1,) int64, ``cols`` (P,) int64 and ``ious`` (P,) dtype: row ``m``'s pairs
        are ``cols[ptr[m]:ptr[m + 1]]``, in start order.
    """
    dtype = start.dtype.type
    # no thresholds: every overlapping pair decays, as with thresholds of -inf (the union of
    # an overlapping pair is > 0, so its IoU is > -inf)
    thr = np.full(len(start), -np.inf, start.dtype) if thresholds is None else \
        np.ascontiguousarray(thresholds)
    # fl(inter / union) > thr implies inter >= fl(fl(thr * union) * slack): a few ulps of room
    slack = dtype(1 - 1e-5) if dtype is np.float32 else dtype(1 - 1e-9)
    decaying_rows = _compiled()[0]
    n = len(start)
    by_start, end_by_start, length_by_start = start[order], end[order], length[order]
    ptr = np.zeros(n + 1, np.int64)
    # every decaying pair is a scanned one, so this room always suffices (np.empty: pages
    # that no pair reaches are never touched); a guessed smaller room, doubled when full,
    # cost AFSD's dense rows re-runs and copies
    room = max(int(stop.sum() - first.sum()), 1)
    cols, ious = np.empty(room, np.int64), np.empty(room, start.dtype)
    done = decaying_rows(start, end, kept_len, thr, union == 'mmaction2', order, first, stop,
                         slack, by_start, end_by_start, length_by_start, ptr, cols, ious)
    if done != n:                          # cannot happen: a pair outside the scan
        raise RuntimeError('soft_nms_kernel.decaying_pairs: more pairs than scanned')
    k = ptr[n]
    return ptr, cols[:k], ious[:k]


def greedy_rounds(work: np.ndarray, live: np.ndarray, ptr: np.ndarray, cols: np.ndarray,
                  weights: np.ndarray, limit: int, stop_at: int,
                  min_score: Optional[float]) -> Tuple[np.ndarray, np.ndarray]:
    """The Soft-NMS rounds over CSR decay rows (:func:`nms.soft_nms`'s loop).

    Each round keeps the first maximum of ``work`` (a live one), then multiplies every live
    ``j`` of its row by the pair's weight; with ``min_score``, a decayed ``j`` below it dies.

    The maximum comes from maxima of blocks of candidates: AFSD's rounds (up to N of them)
    would otherwise cost O(N) each.

    Args:
        work: (N,) scores, finite where live, -inf elsewhere; updated in place. (A NaN would
            break the block maxima: :func:`nms.uses_kernel` leaves those to numpy.)
        live: (N,) bool; updated in place.
        ptr, cols: CSR rows from :func:`decaying_pairs`; weights: (P,) work's dtype.
        limit: keep at most this many; stop_at: stop when this many are live (0, or 1 for
            AFSD's ``drop_last``).
        min_score: None, or the score floor (in work's dtype).

    Returns:
        keep (K,) int64 and kept_scores (K,) work's dtype, in the order kept.
    """
    floor = work.dtype.type(0 if min_score is None else min_score)
    return _compiled()[1](work, live, ptr, cols, weights, int(limit), int(stop_at),
                          min_score is not None, floor)
