"""Every NMS of mmloc, on arrays: greedy hard NMS, Soft-NMS and the variants the methods need.

Segments are ``(N, 2)`` ``[start, end]`` in any one time unit (normalised time, seconds, frames
or grid units: nothing here depends on it); scores are ``(N,)``.

* :func:`hard_nms`: greedy hard NMS, SSN's (``ssn_detections``; localization-spec §5.6).
* :func:`soft_nms`: the shared Soft-NMS loop (Gaussian or linear decay), and two parameter sets
  of it: :func:`mmaction2_soft_nms` (BMN and BSN PEM through ``post_processing``;
  localization-spec §3.7) and :func:`afsd_soft_nms` (AFSD's ``softnms_v2``; afsd-spec §5.2).
* :func:`actionformer_soft_nms`, :func:`actionformer_hard_nms`, :func:`segment_voting` and
  :func:`batched_nms`: ActionFormer / TriDet's C++ kernels and their Python wrapper
  (actionformer-spec §6.2), float32.

Soft-NMS has two loops. :func:`soft_nms` (float64) keeps candidates in a fixed order, so ties
go to the first in that order; MMAction2 and AFSD are parameter sets of it. ActionFormer's
kernel works in float32 and moves candidates around its array while it runs (the maximum is
swapped to the front, a removed one is replaced by the last), and ties go to the first in *that*
order, so :func:`actionformer_soft_nms` keeps the same array order. Both use the same decay
weights; both hard NMS (SSN's, ActionFormer's) run on one greedy loop.
"""
from __future__ import annotations

from typing import Callable, Optional, Tuple

import numpy as np

from mmloc.models.post_processing import soft_nms_kernel
from mmloc.structures.segment_ops import pairwise_temporal_iou

#: ActionFormer's kernels add this to every segment length (areas), in float32.
ACTIONFORMER_AREA_EPS = 1e-6
#: AFSD floors the kept segment's length at this in the IoU union.
AFSD_LENGTH_FLOOR = 1e-5


# ----------------------------------------------------------------------------- shared pieces
def _as_segments(segments, name: str, dtype=np.float64) -> np.ndarray:
    arr = np.asarray(segments, dtype=dtype)
    if arr.size == 0:
        return arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f'{name}: expected segments of shape (N, 2), got {arr.shape}')
    return np.ascontiguousarray(arr)


def _check_lengths(name: str, segs: np.ndarray, scores: np.ndarray) -> None:
    if len(scores) != len(segs):
        raise ValueError(f'{name}: {len(segs)} segments but {len(scores)} scores')


def _check_method(name: str, method: str) -> None:
    if method not in ('gaussian', 'linear'):
        raise ValueError(f"{name}: method must be 'gaussian' or 'linear', got {method!r}")


def _decay_weights(iou: np.ndarray, method: str, sigma: float,
                   correctly_rounded: bool = True, out: Optional[np.ndarray] = None
                   ) -> np.ndarray:
    """Soft-NMS score multipliers, in the dtype of ``iou``.

    ``'gaussian'``: ``exp(-IoU² / sigma)``, computed as ``exp(IoU² / -sigma)`` (the same bits:
    negation is exact and division rounds symmetrically); ``'linear'``: ``1 - IoU``.
    ``correctly_rounded`` matters for float32 only: True computes the exp in float64 and rounds
    it (C's ``expf``, as ActionFormer's kernel calls it); False uses numpy's own float32 exp
    (MMAction2 on float32 rows), which may be an ulp or two away. ``out``: a buffer of
    ``iou``'s shape and dtype to write into (it may be ``iou`` itself), for the Soft-NMS loop.
    """
    if method == 'linear':
        return np.subtract(1, iou, out=out)
    arg = np.divide(np.square(iou, out=out), -iou.dtype.type(sigma), out=out)
    if not correctly_rounded:
        return np.exp(arg, out=out)
    return np.exp(arg, dtype=np.float64).astype(iou.dtype, copy=False)


def _greedy_hard(order: np.ndarray,
                 survives: Callable[[int, np.ndarray], np.ndarray]) -> np.ndarray:
    """Greedy hard NMS over candidate ids ``order`` (best first).

    The first live id is kept; ``survives(kept, rest)`` says which later live ids stay live.

    Returns:
        (K,) int64 kept ids, in ``order``.
    """
    alive = np.ones(len(order), dtype=bool)
    keep = []
    for pos in range(len(order)):
        if not alive[pos]:
            continue
        keep.append(order[pos])
        rest = pos + 1 + np.flatnonzero(alive[pos + 1:])
        alive[rest] = survives(order[pos], order[rest])
    return np.asarray(keep, dtype=np.int64)


# ----------------------------------------------------------------------------- hard NMS
def hard_nms(segments: np.ndarray, scores: np.ndarray, iou_threshold: float,
             zero_length_overlap: bool = False) -> np.ndarray:
    """Greedy hard NMS (SSN's): keep the best, drop every later one with IoU ``> iou_threshold``.

    Args:
        segments: (N, 2) ``[start, end]``, any one unit.
        scores: (N,).
        iou_threshold: a candidate survives a kept one when their IoU is ``<= iou_threshold``.
        zero_length_overlap: False: two zero-length segments have IoU 0 (the union-0 guard of
            :mod:`mmloc.structures.segment_ops`), so they never suppress each other. True:
            MMAction2 0.x's ``temporal_nms``, whose IoU is 0/0 = NaN for them and NaN is never
            ``<= iou_threshold``: a kept zero-length segment removes every later zero-length
            one, wherever it lies.

    Returns:
        (K,) int64 indices of the kept candidates, by score descending; ties in the order of
        ``np.argsort(scores)[::-1]`` (numpy's default sort, reversed).
    """
    segs = _as_segments(segments, 'hard_nms')
    scores = np.asarray(scores)         # sorted as given: numpy's tie order depends on dtype
    _check_lengths('hard_nms', segs, scores)
    order = np.argsort(scores)[::-1]
    if len(order) == 0:
        return order
    zero = segs[:, 1] - segs[:, 0] == 0

    def survives(i, rest):
        ok = pairwise_temporal_iou(segs[i:i + 1], segs[rest])[0] <= iou_threshold
        if zero_length_overlap and zero[i]:
            ok &= ~zero[rest]
        return ok

    return _greedy_hard(order, survives)


# ----------------------------------------------------------------------------- Soft-NMS
class _PairGeometry:
    """The segments of one Soft-NMS call and the IoU test of kept candidates against them.

    ``decaying(ids, inter, iou, decays, overlap)`` writes the IoU of the kept candidates
    ``ids`` (an int, or an (R, 1) column of ints) with every candidate into ``iou`` ((N,) or
    (R, N)), their intersection into ``inter``, and returns ``decays``, the mask of the pairs
    that decay (``overlap``: scratch of the same shape). Every lane is computed; those that
    do not decay (no overlap, 0/0, kept or below the floor) are never used.
    """

    def __init__(self, start, end, length, kept_len, thresholds, test_overlap: bool,
                 union: str) -> None:
        self.start, self.end, self.length, self.kept_len = start, end, length, kept_len
        self.thresholds, self.test_overlap, self.union = thresholds, test_overlap, union

    def decaying(self, ids, inter, iou, decays, overlap) -> np.ndarray:
        # pairwise_intersection's max / min (its clip at 0 only matters for pairs that do
        # not overlap, which never decay)
        np.minimum(self.end, self.end[ids], out=inter)
        inter -= np.maximum(self.start, self.start[ids], out=iou)
        if self.union == 'sum':                # kept_len + len_j - inter
            np.add(self.kept_len[ids], self.length, out=iou)
            iou -= inter
        else:                                  # ((kept_len - inter) + end_j) - start_j
            np.subtract(self.kept_len[ids], inter, out=iou)
            iou += self.end
            iou -= self.start
        np.divide(inter, iou, out=iou)
        if self.thresholds is None:
            return np.greater(inter, 0, out=decays)
        np.greater(iou, self.thresholds[ids], out=decays)
        if self.test_overlap:
            decays &= np.greater(inter, 0, out=overlap)
        return decays


class _RoundRows:
    """Each kept candidate's decay row computed in its own round, in reused (N,) buffers
    (the way for many candidates, where a round's work is in the arithmetic)."""

    def __init__(self, geometry: _PairGeometry, method: str, sigma: float) -> None:
        self.geometry, self.method, self.sigma = geometry, method, sigma
        n = len(geometry.start)
        self.inter, self.iou = np.empty(n, geometry.start.dtype), np.empty(n, geometry.start.dtype)
        self.decays, self.overlap = np.empty(n, bool), np.empty(n, bool)

    def pop(self, m: int, work: np.ndarray) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """Multipliers (N,) of kept candidate ``m`` and the mask (N,) where they apply."""
        decays = self.geometry.decaying(m, self.inter, self.iou, self.decays, self.overlap)
        return _decay_weights(self.iou, self.method, self.sigma, correctly_rounded=False,
                              out=self.iou), decays

    def drop(self, ids: np.ndarray) -> None:
        """Nothing is held for later rounds."""


class _BatchedRows:
    """Kept candidates' decay rows computed ahead in batches (the way for few candidates,
    where a round's time is numpy's per-call cost).

    The IoU of a kept candidate ``m`` with a candidate ``j`` depends on the segments only, not
    on the scores, so ``m``'s row can be computed before ``m`` is kept. When the kept
    candidate has no row yet, rows are computed for it and for the live candidates with the
    highest current scores that have none (the likeliest next ones) in one pass of (rows, N)
    ufuncs; a round is then an ``argmax`` and one multiply instead of a dozen numpy calls.
    Each element goes through the same IEEE operations on the same operands as in
    :class:`_RoundRows` (elementwise ufuncs; numpy's ``exp`` treats each lane alike), so the
    bits are the same.
    """

    #: rows per batch up to ``HALF_ROWS_ABOVE`` candidates, half as many above: fewer waste
    #: less on candidates decayed before they are kept (about half of BMN's rows are), more
    #: save calls
    ROWS = 32
    HALF_ROWS_ABOVE = 512

    def __init__(self, geometry: _PairGeometry, method: str, sigma: float,
                 masked: bool) -> None:
        self.geometry, self.method, self.sigma, self.masked = geometry, method, sigma, masked
        n = len(geometry.start)
        self.rows = self.ROWS if n <= self.HALF_ROWS_ABOVE else max(1, self.ROWS // 2)
        self.pending = np.ones(n, bool)                      # no row computed yet
        self.computed = {}                                   # candidate -> (weights, decays)

    def _compute(self, ids: np.ndarray) -> None:
        shape, dtype = (len(ids), len(self.pending)), self.geometry.start.dtype
        inter, iou = np.empty(shape, dtype), np.empty(shape, dtype)
        decays = self.geometry.decaying(ids[:, None], inter, iou, np.empty(shape, bool),
                                        np.empty(shape, bool))
        # the decay where a pair decays (a few per cent of them), 1 elsewhere: x * 1 == x
        # exactly (-inf included), so an unmasked round multiplies every lane
        weights = np.ones_like(iou)
        hits = np.flatnonzero(decays)
        flat = iou.reshape(-1)[hits]
        weights.reshape(-1)[hits] = _decay_weights(flat, self.method, self.sigma,
                                                   correctly_rounded=False, out=flat)
        self.pending[ids] = False
        for i, m in enumerate(ids.tolist()):
            self.computed[m] = (weights[i], decays[i] if self.masked else None)

    def pop(self, m: int, work: np.ndarray) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """Kept candidate ``m``'s multipliers (N,) and the mask (N,) of the candidates it
        decays (None unless ``masked``: the multipliers are 1 off the mask). ``work`` holds
        the current scores, -inf for kept and dead candidates. A row is handed out once."""
        if m not in self.computed:
            self.pending[m] = False
            others = np.flatnonzero(self.pending & (work > -np.inf))
            if len(others) >= self.rows:
                others = others[np.argpartition(-work[others], self.rows - 2)[:self.rows - 1]]
            self._compute(np.concatenate([[m], others]).astype(np.int64))
        return self.computed.pop(m)

    def drop(self, ids: np.ndarray) -> None:
        """Forget the rows of candidates that will never be kept (below the score floor)."""
        for j in ids.tolist():
            self.computed.pop(j, None)


#: at most this many candidates (half as many with a score floor or linear decay, whose
#: rounds are masked): decay rows in batches (:class:`_BatchedRows`), else one per round
#: (:class:`_RoundRows`). Measured on 2 cores (``benchmarks/soft_nms_rows.py``): batches
#: are 1.1-2.8x faster up to 500 candidates, 1.25-1.4x at 1000 without a mask; slower
#: beyond (a (rows, N) pass costs more per element than an (N,) one, and rows go unused).
BATCHED_ROWS_MAX_CANDIDATES = 1024


#: Estimated cost of a round of the compiled rounds, in ns on a 2-core AVX-512 machine: per
#: scanned pair (its IoU, the CSR row, numpy's exp, the multiply; 4-7 ns measured, more once
#: the pairs outgrow the cache) and per candidate (a proxy for that growth and the block
#: maxima). They run when a round costs at most ``KERNEL_MAX_NS_PER_ROUND``: a numpy round
#: costs ~5 us (AFSD's rows) to ~10 us (BMN's trained-like maps), and the compiled rounds
#: compute every candidate's row, the numpy path about those of the kept ones only. Fitted to
#: the crossovers ``benchmarks/soft_nms_rows.py`` measured: between 500 and 1000 candidates
#: for BMN / PEM rows, between 2000 and 4000 for AFSD's.
KERNEL_NS_PER_SCANNED_PAIR = 5.0
KERNEL_NS_PER_ROUND_CANDIDATE = 1.4
KERNEL_MAX_NS_PER_ROUND = 6500.0
#: rows sampled to estimate the scan's pairs before scanning all of them, above
#: ``KERNEL_SAMPLE_ABOVE`` candidates (below, the sample costs about what it could save:
#: ~45 us of a ~75 us full scan at BMN's ~430); the estimate declines at 1.5x the limit
KERNEL_SAMPLED_ROWS = 64
KERNEL_SAMPLE_ABOVE = 1000


def uses_kernel(segments: np.ndarray, thresholds: Optional[np.ndarray], rounds: int,
                live_scores: Optional[np.ndarray] = None) -> Optional[tuple]:
    """The compiled rounds' scan (:func:`soft_nms_kernel.scanned_pairs`) when :func:`soft_nms`
    runs them on these (N, 2) segments (``thresholds``: None or (N,); ``live_scores``: None
    or the scores of the live candidates) for at most ``rounds`` rounds, else None: numba is
    missing, a segment or live score is not finite or a segment has a negative length, or a
    round would cost more than numpy's (the estimate above)."""
    if not soft_nms_kernel.available() or not len(segments) or \
            KERNEL_NS_PER_ROUND_CANDIDATE * len(segments) > KERNEL_MAX_NS_PER_ROUND or \
            (live_scores is not None and not np.isfinite(live_scores).all()):
        return None
    start, end = segments[:, 0], segments[:, 1]
    length = end - start
    if not (np.isfinite(segments).all() and (length >= 0).all()):
        return None

    def per_round_ns(pairs):
        return KERNEL_NS_PER_SCANNED_PAIR * pairs / max(rounds, 1) \
            + KERNEL_NS_PER_ROUND_CANDIDATE * len(segments)

    order = None
    if len(segments) > KERNEL_SAMPLE_ABOVE:
        # a strided sample of the rows first: a declined full scan costs 0.3-0.8 ms at
        # 2000-4000 candidates, a third of the numpy rounds that run instead
        rows = np.linspace(0, len(segments) - 1, KERNEL_SAMPLED_ROWS).astype(np.int64)
        sampled, order, _, _ = soft_nms_kernel.scanned_pairs(start, end, length, thresholds,
                                                              rows)
        if per_round_ns(sampled * len(segments) / len(rows)) > 1.5 * KERNEL_MAX_NS_PER_ROUND:
            return None
    scan = soft_nms_kernel.scanned_pairs(start, end, length, thresholds, order=order)
    return scan if per_round_ns(scan[0]) <= KERNEL_MAX_NS_PER_ROUND else None


def uses_batched_rows(num_candidates: int, masked: bool) -> bool:
    """Whether :func:`soft_nms` computes decay rows in batches for this many candidates
    (``masked``: a score floor, linear decay or a tiny sigma)."""
    return num_candidates * (2 if masked else 1) <= BATCHED_ROWS_MAX_CANDIDATES


def soft_nms(segments: np.ndarray, scores: np.ndarray, *, method: str = 'gaussian',
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
    _check_lengths('soft_nms', segs, score)
    _check_method('soft_nms', method)
    live = np.ones(len(score), bool) if min_score is None else score >= min_score
    # Scores of live candidates, -inf for the others: argmax then picks the first maximum
    # among the live ones, in input order.
    work = np.where(live, score, -np.inf)
    start, end = np.ascontiguousarray(segs[:, 0]), np.ascontiguousarray(segs[:, 1])
    length = end - start
    kept_len = length if selected_length_floor is None else \
        np.maximum(length, dtype.type(selected_length_floor))
    thresholds = None if iou_threshold is None else \
        np.broadcast_to(np.asarray(iou_threshold, dtype=dtype), score.shape)
    # With thresholds >= 0 and lengths >= 0, IoU > thr implies inter > 0 (a pair without
    # overlap has a union > 0, so IoU <= 0; a 0/0 is NaN and fails); otherwise the overlap is
    # tested as well.
    test_overlap = thresholds is None or bool((thresholds < 0).any() or (length < 0).any())
    # A kept candidate's score is -inf and stays so under any weight > 0; Gaussian weights
    # reach 0 (exp underflow, IoU <= 1) only for sigma < 1/100. Otherwise (and for the score
    # floor, which must see the live ones only) the decay is restricted to live candidates.
    live_only = method != 'gaussian' or sigma < 0.02 or min_score is not None
    n_live = int(live.sum())
    limit = len(score) if top_k is None else top_k
    stop_at = 1 if drop_last else 0
    scan = uses_kernel(segs, thresholds, min(limit, n_live), score[live])
    if scan is not None:
        ptr, cols, ious = soft_nms_kernel.decaying_pairs(
            start, end, length, kept_len, thresholds, union, *scan[1:])
        with np.errstate(all='ignore'):
            weights = _decay_weights(ious, method, sigma, correctly_rounded=False, out=ious)
        return soft_nms_kernel.greedy_rounds(work, live, ptr, cols, weights, limit, stop_at,
                                             min_score)
    keep, kept_scores = [], []
    # Each round multiplies the scores by the kept candidate's row of decays; for few
    # candidates the rows are computed ahead in batches (fewer numpy calls).
    geometry = _PairGeometry(start, end, length, kept_len, thresholds, test_overlap, union)
    decay = _BatchedRows(geometry, method, sigma, masked=live_only) \
        if uses_batched_rows(len(score), live_only) else _RoundRows(geometry, method, sigma)
    hit = np.empty(len(work), bool)
    with np.errstate(all='ignore'):
        while n_live > stop_at and len(keep) < limit:
            m = int(work.argmax())
            if not live[m]:                   # live scores of -inf: take the first live one
                m = int(np.flatnonzero(live)[0])
            keep.append(m)
            kept_scores.append(work[m])
            live[m] = False
            work[m] = -np.inf
            n_live -= 1
            weights, decays = decay.pop(m, work)
            if decays is None:
                work *= weights
                continue
            if live_only:
                decays = np.logical_and(decays, live, out=hit)
            np.multiply(work, weights, out=work, where=decays)
            if min_score is not None:
                dead = decays & (work < min_score)
                if dead.any():
                    live[dead] = False
                    work[dead] = -np.inf
                    dead = np.flatnonzero(dead)
                    n_live -= len(dead)
                    decay.drop(dead)
    return np.asarray(keep, dtype=np.int64), np.asarray(kept_scores, dtype=dtype)


def mmaction2_soft_nms(proposals: np.ndarray, alpha: float, low_threshold: float,
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
    keep, kept_scores = soft_nms(segs, props[:, -1], sigma=alpha, iou_threshold=width_threshold,
                                 top_k=top_k + 1, union='mmaction2', dtype=dtype)
    return np.column_stack([segs[keep], kept_scores]).reshape(-1, 3)


def afsd_soft_nms(dets: np.ndarray, sigma: float = 0.5, top_k: int = 5000,
                  score_threshold: float = 0.001) -> np.ndarray:
    """AFSD's ``softnms_v2`` on one class (afsd-spec §5.2).

    In :func:`soft_nms` terms: Gaussian with no IoU threshold, ``min_score =
    score_threshold``, ``drop_last``: while more than one candidate is live and fewer than
    ``top_k`` are kept, keep the arg-max and decay the others; the single candidate still live
    at the end is dropped. The kept segment's length is floored at 1e-5 in the union, as the
    original does (the other length is not).

    Args:
        dets: (N, 3) ``[t0, t1, score]`` (any one time unit).

    Returns:
        (M, 3) float64 kept rows in **input order**, with the score each had when it was kept.
    """
    dets = np.asarray(dets, dtype=np.float64).reshape(-1, 3)
    keep, kept_scores = soft_nms(dets[:, :2], dets[:, 2], sigma=sigma, min_score=score_threshold,
                                 top_k=top_k, drop_last=True,
                                 selected_length_floor=AFSD_LENGTH_FLOOR)
    in_input_order = np.argsort(keep)
    out = dets[keep[in_input_order]]
    out[:, 2] = kept_scores[in_input_order]
    return out


# ----------------------------------------------------------------------------- ActionFormer
def _iou_f32(a: np.ndarray, area_a: np.ndarray, b: np.ndarray, area_b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) ``inter / (area_a + area_b - inter)`` in float32, that operation order.

    ActionFormer's kernels compute the IoU in float32 with their own areas (``+1e-6`` in NMS,
    none in voting); float64 would decide exact ties (IoU = threshold) differently, so this
    does not go through segment_ops.
    """
    lo = np.maximum(a[:, None, 0], b[None, :, 0])
    hi = np.minimum(a[:, None, 1], b[None, :, 1])
    inter = np.maximum(hi - lo, np.float32(0))
    return inter / ((area_a[:, None] + area_b[None, :]) - inter)


def _areas_f32(segs: np.ndarray, eps: float = ACTIONFORMER_AREA_EPS) -> np.ndarray:
    return (segs[:, 1] - segs[:, 0]) + np.float32(eps)


def actionformer_soft_nms(segments: np.ndarray, scores: np.ndarray, sigma: float = 0.5,
                          min_score: float = 0.001, method: str = 'gaussian',
                          iou_threshold: float = 0.0, top_k: Optional[int] = None
                          ) -> Tuple[np.ndarray, np.ndarray]:
    """ActionFormer / TriDet's C++ Soft-NMS (``softnms_1d_cpu``), float32 (actionformer-spec §6.2).

    Round ``i`` (``n`` shrinks): the first maximum of ``sc[i:n]`` is swapped into position ``i``
    and output; every later candidate decays (Gaussian: ``exp(-ovr²/sigma)`` whatever the
    overlap; linear: ``1 - ovr`` where ``ovr >= iou_threshold``) and one that falls below
    ``min_score`` is replaced by the last candidate (``n -= 1``). ``ovr`` uses areas
    ``end - start + 1e-6``. The first selection is never tested against ``min_score``.

    Args:
        segments: (N, 2) ``[start, end]`` (grid units upstream). scores: (N,).
        sigma: Gaussian parameter. min_score: removal floor (strict ``<``).
        method: ``'gaussian'`` (every config) or ``'linear'``.
        iou_threshold: used by ``'linear'`` only.
        top_k: stop after this many selections (None: run to the end, as the kernel does).
            A selection depends on the earlier rounds only, so these are the kernel's first
            ``top_k`` outputs; the callers cut to their ``max_seg_num`` anyway.

    Returns:
        inds: (K,) int64 input indices in selection order.
        dets: (K, 3) float32 ``[start, end, score]`` in that order (non-increasing scores).
    """
    segs = _as_segments(segments, 'actionformer_soft_nms', np.float32)
    sc = np.asarray(scores, np.float32).reshape(-1)
    _check_lengths('actionformer_soft_nms', segs, sc)
    _check_method('actionformer_soft_nms', method)
    # One array so that a swap moves a candidate's columns together: start, end, score, area.
    cand = np.column_stack([segs, sc, _areas_f32(segs)])
    ids = np.arange(len(cand), dtype=np.int64)
    floor, thr = np.float32(min_score), np.float32(iou_threshold)
    n, i = len(cand), 0
    limit = n if top_k is None else top_k
    while i < min(n, limit):
        m = i + int(np.argmax(cand[i:n, 2]))
        cand[[i, m]] = cand[[m, i]]
        ids[[i, m]] = ids[[m, i]]
        rest = cand[i + 1:n]
        ovr = _iou_f32(cand[i:i + 1, :2], cand[i:i + 1, 3], rest[:, :2], rest[:, 3])[0]
        if method == 'gaussian':
            rest[:, 2] *= _decay_weights(ovr, method, sigma)
        else:
            hit = np.flatnonzero(ovr >= thr)
            rest[hit, 2] *= _decay_weights(ovr[hit], method, sigma)
        dead = rest[:, 2] < floor
        if dead.any():
            # The kernel scans i+1..n-1 and replaces each removed candidate by the last one
            # (removing dead ones from the end first). Net effect: the dead positions below the
            # new end get the live candidates beyond it, the last one first.
            new_n = i + 1 + int((~dead).sum())
            holes = i + 1 + np.flatnonzero(dead[:new_n - i - 1])
            fills = new_n + np.flatnonzero(~dead[new_n - i - 1:])[::-1]
            cand[holes] = cand[fills]
            ids[holes] = ids[fills]
            n = new_n
        i += 1
    return ids[:i].copy(), cand[:i, :3].copy()


def actionformer_hard_nms(segments: np.ndarray, scores: np.ndarray, iou_threshold: float,
                          min_score: float = 0.0) -> np.ndarray:
    """ActionFormer / TriDet's C++ hard NMS (``nms_1d_cpu`` and its Python wrapper), float32.

    Candidates with ``score > min_score`` (if ``min_score > 0``), by score descending (ties in
    input order; upstream's ``torch.sort`` does not promise an order for ties); a later one is
    suppressed by an earlier *kept* one when ``ovr >= iou_threshold``, ``ovr`` with areas
    ``end - start + 1e-6`` (so an exact real-arithmetic tie IoU = threshold survives).

    Returns:
        (K,) int64 input indices of the kept candidates, by score descending.
    """
    segs = _as_segments(segments, 'actionformer_hard_nms', np.float32)
    sc = np.asarray(scores, np.float32).reshape(-1)
    _check_lengths('actionformer_hard_nms', segs, sc)
    cand = np.arange(len(sc), dtype=np.int64)
    if min_score > 0:
        cand = np.flatnonzero(sc > np.float32(min_score))
    order = cand[np.argsort(-sc[cand], kind='stable')]
    area, thr = _areas_f32(segs), np.float32(iou_threshold)
    return _greedy_hard(order, lambda i, rest: _iou_f32(
        segs[i:i + 1], area[i:i + 1], segs[rest], area[rest])[0] < thr)


def segment_voting(nms_segments: np.ndarray, segments: np.ndarray, scores: np.ndarray,
                   iou_threshold: float, weight: str = 'score_iou') -> np.ndarray:
    """Score voting of ActionFormer (``weight='score_iou'``) or TriDet (``'score'``), float32.

    Each NMS output ``n`` becomes ``Σ_j w_nj seg_j / Σ_j w_nj`` over the pre-NMS candidates
    ``j`` with ``w_nj = [IoU(n, j) >= iou_threshold] · score_j (· IoU(n, j))``; IoU in plain
    float32 (no epsilon), scores the original (undecayed) ones.

    Args:
        nms_segments: (K, 2) NMS outputs. segments: (N, 2) pre-NMS candidates, same unit.
        scores: (N,) pre-NMS scores.

    Returns:
        (K, 2) float32 voted segments, in the order of ``nms_segments``.
    """
    if weight not in ('score_iou', 'score'):
        raise ValueError(f"segment_voting: weight must be 'score_iou' or 'score', got {weight!r}")
    out = _as_segments(nms_segments, 'segment_voting', np.float32)
    segs = _as_segments(segments, 'segment_voting', np.float32)
    sc = np.asarray(scores, np.float32).reshape(-1)
    _check_lengths('segment_voting', segs, sc)
    with np.errstate(divide='ignore', invalid='ignore'):   # 0/0 only for zero-length pairs
        iou = _iou_f32(out, _areas_f32(out, 0.0), segs, _areas_f32(segs, 0.0))
        w = (iou >= np.float32(iou_threshold)).astype(np.float32) * sc[None, :]
        if weight == 'score_iou':
            w = w * iou
        w /= w.sum(axis=1, keepdims=True)
    return w @ segs


def batched_nms(segments: np.ndarray, scores: np.ndarray, labels: np.ndarray,
                iou_threshold: float, min_score: float, max_seg_num: int,
                use_soft_nms: bool = True, multiclass: bool = True, sigma: float = 0.5,
                voting_thresh: float = 0.75, voting_weight: str = 'score_iou'
                ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ActionFormer / TriDet ``batched_nms`` (actionformer-spec §6.2), float32.

    Multi-class: per class in ascending id order, (Soft-)NMS keeping at most ``max_seg_num``
    (if > 0), concatenated, no voting. Class-agnostic: one (Soft-)NMS over all, then
    :func:`segment_voting` if ``voting_thresh > 0``. Finally by score descending (ties in the
    order so far), cut to ``max_seg_num``.

    Args:
        segments: (N, 2) grid units upstream. scores: (N,). labels: (N,) integer class ids.
        iou_threshold: hard NMS only (the Gaussian Soft-NMS ignores it).
        min_score: see :func:`actionformer_soft_nms` / :func:`actionformer_hard_nms`.
        voting_weight: ``'score_iou'`` (ActionFormer) or ``'score'`` (TriDet).

    Returns:
        segments (M, 2) float32, scores (M,) float32, labels (M,) of ``labels``' dtype.
    """
    segs = _as_segments(segments, 'batched_nms', np.float32)
    sc = np.asarray(scores, np.float32).reshape(-1)
    labels = np.asarray(labels).reshape(-1)
    _check_lengths('batched_nms', segs, sc)
    _check_lengths('batched_nms', labels, sc)
    if len(sc) == 0:
        return np.zeros((0, 2), np.float32), np.zeros(0, np.float32), np.zeros(0, labels.dtype)

    def suppress(idx: np.ndarray):
        if use_soft_nms:
            k, dets = actionformer_soft_nms(segs[idx], sc[idx], sigma, min_score,
                                            top_k=max_seg_num if max_seg_num > 0 else None)
            found = idx[k], dets[:, :2], dets[:, 2]
        else:
            k = actionformer_hard_nms(segs[idx], sc[idx], iou_threshold, min_score)
            found = idx[k], segs[idx[k]], sc[idx[k]]
        return tuple(x[:max_seg_num] for x in found) if max_seg_num > 0 else found

    if multiclass:
        parts = [suppress(np.flatnonzero(labels == c)) for c in np.unique(labels)]
        ids, out_segs, out_scores = (np.concatenate(x) for x in zip(*parts))
    else:
        ids, out_segs, out_scores = suppress(np.arange(len(sc)))
        if voting_thresh > 0:
            out_segs = segment_voting(out_segs, segs, sc, voting_thresh, voting_weight)
    order = np.argsort(-out_scores, kind='stable')[:min(max_seg_num, len(out_scores))]
    return out_segs[order], out_scores[order], labels[ids][order]
