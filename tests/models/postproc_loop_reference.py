"""Frozen copies of the per-round Soft-NMS loop and of ``bmn_candidates``, as of commit 3e9b67f.

The fast paths that replaced them (``mmloc.models.post_processing.nms.soft_nms`` working
on whole (N,) buffers each round, ``mmloc.models.localizers.bmn.bmn_candidates`` with a
cached triangle index) must give the same bits; tests/models/test_postproc_fast_paths.py
compares them on seeded random inputs, trained-like BMN maps and edge cases. Copied verbatim
except the names (``reference_*``) and line wrapping. Do not edit.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np


def _as_segments(segments, name: str, dtype=np.float64) -> np.ndarray:
    arr = np.asarray(segments, dtype=dtype)
    if arr.size == 0:
        return arr.reshape(0, 2)
    return np.ascontiguousarray(arr)


def _decay_weights(iou: np.ndarray, method: str, sigma: float,
                   correctly_rounded: bool = True) -> np.ndarray:
    """Soft-NMS score multipliers, in the dtype of ``iou``.

    ``'gaussian'``: ``exp(-IoU² / sigma)``; ``'linear'``: ``1 - IoU``. ``correctly_rounded``
    matters for float32 only: True computes the exp in float64 and rounds it (C's ``expf``, as
    ActionFormer's kernel calls it); False uses numpy's own float32 exp (MMAction2 on float32
    rows), which may be an ulp or two away.
    """
    if method == 'linear':
        return 1 - iou
    arg = -np.square(iou) / iou.dtype.type(sigma)
    if not correctly_rounded:
        return np.exp(arg)
    return np.exp(arg, dtype=np.float64).astype(iou.dtype, copy=False)


def reference_soft_nms(segments: np.ndarray, scores: np.ndarray, *, method: str = 'gaussian',
             sigma: float = 0.5, iou_threshold=None, min_score: Optional[float] = None,
             top_k: Optional[int] = None, drop_last: bool = False,
             selected_length_floor: Optional[float] = None, union: str = 'sum',
             dtype=np.float64) -> Tuple[np.ndarray, np.ndarray]:
    """Soft-NMS over candidates in a fixed order.

    Each round keeps the live candidate with the highest score (the first in input order on
    ties) and decays every other live candidate ``j`` overlapping it with
    ``IoU > iou_threshold``: ``'gaussian'`` ``s_j *= exp(-IoU²/sigma)``, ``'linear'``
    ``s_j *= 1 - IoU``. A kept candidate never changes again.

    Args:
        segments: (N, 2) ``[start, end]``, any one unit.
        scores: (N,), finite.
        method: ``'gaussian'`` or ``'linear'``.
        sigma: Gaussian decay parameter (MMAction2 calls it ``alpha``); unused by ``'linear'``.
        iou_threshold: None: every overlapping candidate decays. A float: only those with
            ``IoU > iou_threshold``. An (N,) array: the threshold that applies while candidate
            ``i`` is the one kept (MMAction2's width-dependent rule).
        min_score: None, or a candidate is live only while ``score >= min_score`` (also at the
            start); the others are never kept.
        top_k: keep at most this many (None: no limit).
        drop_last: stop as soon as one live candidate is left, without keeping it (AFSD).
        selected_length_floor: None: the IoU of :mod:`mmloc.structures.segment_ops`. A float:
            the kept segment's length is floored at it in the union (AFSD).
        union: how the union of the kept ``m`` and a candidate ``j`` is rounded: ``'sum'``
            ``len_m + len_j - inter`` (segment_ops', AFSD's); ``'mmaction2'``
            ``((len_m - inter) + end_j) - start_j``, MMAction2's ``temporal_iou``. They differ
            in the last bit, which decides grid-aligned pairs whose IoU is exactly the
            threshold.
        dtype: ``np.float64``, or ``np.float32`` for every step in float32 with numpy's
            float32 exp (MMAction2 on PEM's float32 rows).

    Returns:
        keep: (K,) int64 indices in the order kept (non-increasing kept scores).
        kept_scores: (K,) ``dtype``, the (decayed) score of each when it was kept.
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f'soft_nms: dtype must be float32 or float64, got {dtype}')
    if union not in ('sum', 'mmaction2'):
        raise ValueError(f"soft_nms: union must be 'sum' or 'mmaction2', got {union!r}")
    segs = _as_segments(segments, 'soft_nms', dtype)
    score = np.asarray(scores, dtype=dtype).reshape(-1)
    live = np.ones(len(score), bool) if min_score is None else score >= min_score
    # Scores of live candidates, -inf for the others: argmax then picks the first maximum
    # among the live ones, in input order.
    work = np.where(live, score, -np.inf)
    length = segs[:, 1] - segs[:, 0]
    thresholds = None if iou_threshold is None else \
        np.broadcast_to(np.asarray(iou_threshold, dtype=dtype), score.shape)
    n_live = int(live.sum())
    limit = len(score) if top_k is None else top_k
    stop_at = 1 if drop_last else 0
    keep, kept_scores = [], []
    while n_live > stop_at and len(keep) < limit:
        m = int(np.argmax(work))
        if not live[m]:                       # live scores of -inf: take the first live one
            m = int(np.flatnonzero(live)[0])
        keep.append(m)
        kept_scores.append(work[m])
        live[m] = False
        work[m] = -np.inf
        n_live -= 1
        # pairwise_intersection's max / min / clip, in ``dtype``
        inter = np.maximum(np.minimum(segs[m, 1], segs[:, 1]) - np.maximum(segs[m, 0], segs[:, 0]),
                           0)
        # Only overlapping candidates can change (IoU 0 gives a factor of 1), usually few of
        # them: the union is formed for those only. Their union is > 0, so this is
        # segment_ops' IoU without its union-0 guard, unless the length is floored.
        near = np.flatnonzero((inter > 0) & live)
        kept_len = length[m] if selected_length_floor is None else \
            max(length[m], dtype.type(selected_length_floor))
        if union == 'sum':
            iou = inter[near] / (kept_len + length[near] - inter[near])
        else:
            iou = inter[near] / ((kept_len - inter[near]) + segs[near, 1] - segs[near, 0])
        if thresholds is not None:
            hit = iou > thresholds[m]
            near, iou = near[hit], iou[hit]
        work[near] *= _decay_weights(iou, method, sigma, correctly_rounded=False)
        if min_score is not None:
            dead = near[work[near] < min_score]
            live[dead] = False
            work[dead] = -np.inf
            n_live -= len(dead)
    return np.asarray(keep, dtype=np.int64), np.asarray(kept_scores, dtype=dtype)


def reference_mmaction2_soft_nms(proposals: np.ndarray, alpha: float, low_threshold: float,
                       high_threshold: float, top_k: int, dtype=np.float64) -> np.ndarray:
    """MMAction2's Gaussian Soft-NMS with a width-dependent IoU threshold (BMN, BSN PEM).

    Rows are sorted by score (last column) descending (numpy argsort, reversed); then, in
    :func:`soft_nms` terms, ``sigma = alpha``, ``iou_threshold = low + (high - low) * width``
    of the kept proposal, MMAction2's union rounding (``union='mmaction2'``), no score floor,
    and ``top_k + 1`` rows are kept at most: MMAction2's off-by-one, kept for parity (its
    caller cuts to ``top_k``).

    Args:
        proposals: (N, >=3) rows ``[tmin, tmax, ..., score]``, times normalised to [0, 1]
            (BMN's (N, 7) candidates, PEM's (N, 6) rows); the last column is the score.
        alpha: the Gaussian's ``sigma``.
        low_threshold: the IoU threshold of a zero-width kept proposal.
        high_threshold: the IoU threshold of a full-width (width 1) kept proposal.
        top_k: proposals the caller wants; ``top_k + 1`` come back at most.
        dtype: the arithmetic, sort included: float64 (BMN's rows), or float32 (MMAction2
            runs PEM's float32 rows in float32).

    Returns:
        (K, 3) ``dtype`` ``[tmin, tmax, decayed_score]``, K <= min(N, top_k + 1), in the order
        kept (non-increasing decayed scores).
    """
    props = np.asarray(proposals, dtype=dtype)
    if props.ndim != 2 or props.shape[1] < 3:
        raise ValueError(f'mmaction2_soft_nms: expected an (N, >=3) array '
                         f'[tmin, tmax, ..., score], got shape {props.shape}')
    props = props[props[:, -1].argsort()[::-1]]
    segs = props[:, :2]
    # python floats are weak scalars (NEP 50): in ``dtype``, as MMAction2's scalar code
    width_threshold = low_threshold + (high_threshold - low_threshold) * (segs[:, 1] - segs[:, 0])
    keep, kept_scores = reference_soft_nms(segs, props[:, -1], sigma=alpha,
                                           iou_threshold=width_threshold,
                                           top_k=top_k + 1, union='mmaction2', dtype=dtype)
    return np.column_stack([segs[keep], kept_scores]).reshape(-1, 3)


def reference_bmn_candidates(start: np.ndarray, end: np.ndarray, bm_cls: np.ndarray,
                   bm_reg: np.ndarray) -> np.ndarray:
    """Boundary candidates and score fusion of one video (spec §3.7), vectorised.

    Args:
        start, end: (T,) boundary probabilities.
        bm_cls, bm_reg: (T(d), T(s)) classification / regression confidence maps.

    Returns:
        (K, 7) float64 rows ``[s/T, e/T, start[s], end[e], cls[d,s], reg[d,s], score]``
        with ``e = s + d + 1 < T``, ``start`` index s a candidate start and e a
        candidate end, in (d, s) row-major order; ``score`` is the float32
        product ``start * end * cls * reg``.
    """
    T = start.shape[0]
    start = np.asarray(start, dtype=np.float32)
    end = np.asarray(end, dtype=np.float32)

    def _bins(x: np.ndarray, forced: int) -> np.ndarray:
        bins = np.zeros(T, dtype=bool)
        bins[forced] = True
        mid = x[1:-1]
        peak = (mid > x[2:]) & (mid > x[:-2])
        bins[1:-1] |= peak | (mid > 0.5 * x.max())
        return bins

    start_bins = _bins(start, 0)
    end_bins = _bins(end, T - 1)
    d, s = np.meshgrid(np.arange(T), np.arange(T), indexing='ij')
    e = s + d + 1
    ok = e < T
    ok[ok] &= start_bins[s[ok]] & end_bins[e[ok]]
    d, s, e = d[ok], s[ok], e[ok]
    tmin_score, tmax_score = start[s], end[e]
    cls = np.asarray(bm_cls, dtype=np.float32)[d, s]
    reg = np.asarray(bm_reg, dtype=np.float32)[d, s]
    score = tmin_score * tmax_score * cls * reg             # float32, same order as MMAction2
    return np.stack([s / T, e / T, tmin_score, tmax_score, cls, reg, score],
                    axis=1).astype(np.float64)
