"""Frozen copies of the pre-redesign NMS implementations, kept to prove bit-identical outputs.

Copied verbatim (only the three function names changed, so that no ``def`` here says "nms")
from commit 8a5303f, the last one before ``mmloc.models.post_processing.nms`` became the one
home of NMS:

* ``legacy_mmaction2_soft_suppression``: ``mmloc/models/utils/proposal_utils.py::soft_nms``
  (MMAction2's Gaussian Soft-NMS, width-dependent threshold, ``top_k + 1`` rows; BMN / BSN PEM).
* ``legacy_ssn_hard_suppression``: ``mmloc/models/ssn/postprocess.py::temporal_nms``
  (greedy hard NMS of ``ssn_detections``).
* ``legacy_afsd_soft_suppression``: ``mmloc/models/afsd/inference.py::gaussian_soft_nms``
  (AFSD's ``softnms_v2``).

The segment-overlap helpers they called (``mmloc/structures/segment_ops.py``) are frozen here
too, so a later change there cannot move the reference. Do not edit; tests/models/test_nms.py
compares the new module against these.
"""
from __future__ import annotations

import numpy as np


# ---------------------------------------------------------------- mmloc/structures/segment_ops.py
def _as_segments(x, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] == 2:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise ValueError(f'{name}: expected segments of shape (N, 2), got {arr.shape}')
    return arr[:, :2]


def pairwise_intersection(a, b) -> np.ndarray:
    """Intersection length of every pair.

    Args:
        a: (N, 2) segments ``[start, end]`` in any one unit.
        b: (M, 2) segments in the same unit.

    Returns:
        (N, M) float64 intersection lengths (>= 0).
    """
    a = _as_segments(a, 'a')
    b = _as_segments(b, 'b')
    lo = np.maximum(a[:, None, 0], b[None, :, 0])
    hi = np.minimum(a[:, None, 1], b[None, :, 1])
    return np.clip(hi - lo, 0.0, None)


def pairwise_temporal_iou(a, b) -> np.ndarray:
    """IoU of every pair, ``inter / (len_a + len_b - inter)``, float64.

    Args:
        a: (N, 2) segments. b: (M, 2) segments, same unit.

    Returns:
        (N, M) float64. A pair whose union is 0 gets IoU 0.
    """
    a = _as_segments(a, 'a')
    b = _as_segments(b, 'b')
    inter = pairwise_intersection(a, b)
    union = (a[:, 1] - a[:, 0])[:, None] + (b[:, 1] - b[:, 0])[None, :] - inter
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return iou


# ---------------------------------------------------------------- mmloc/models/utils/proposal_utils.py
def _as_candidates(proposals, name: str) -> np.ndarray:
    arr = np.asarray(proposals, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] < 3:
        raise ValueError(f'{name}: expected an (N, >=3) array [tmin, tmax, ..., score], '
                         f'got shape {arr.shape}')
    return arr


def legacy_mmaction2_soft_suppression(proposals: np.ndarray, alpha: float,
                                      low_threshold: float, high_threshold: float,
                                      top_k: int) -> np.ndarray:
    """Gaussian Soft-NMS with a width-dependent threshold, as MMAction2 runs it.

    Rows are sorted by score (last column) descending (numpy argsort, reversed).
    Then, while candidates remain and fewer than ``top_k + 1`` are kept: take the
    first highest-scoring candidate ``m``; every other remaining candidate whose
    IoU with ``m`` exceeds ``low + (high - low) * (tmax_m - tmin_m)`` has its score
    multiplied by ``exp(-IoU**2 / alpha)``; ``m`` is kept and removed. Keeping
    ``top_k + 1`` rows is MMAction2's off-by-one, kept for parity (the caller cuts
    to ``top_k``).

    Args:
        proposals: (N, >=3) float, columns ``tmin, tmax, ..., score`` (normalised
            times; the score is the last column).
        alpha: Gaussian decay parameter.
        low_threshold, high_threshold: IoU threshold at width 0 and width 1.
        top_k: number of proposals wanted (``top_k + 1`` are returned at most).

    Returns:
        (K, 3) float64 rows ``[tmin, tmax, decayed_score]`` in the order kept,
        K <= min(N, top_k + 1).
    """
    props = _as_candidates(proposals, 'soft_nms')
    props = props[props[:, -1].argsort()[::-1]]
    segs = np.ascontiguousarray(props[:, :2])
    length = segs[:, 1] - segs[:, 0]
    score = props[:, -1].copy()
    kept = []
    # One iteration per kept proposal; the decay of all others is vectorised. A kept
    # proposal's score becomes -inf instead of deleting it (same order, no copies):
    # argmax then finds the first maximum among the remaining ones, as the list does.
    remaining = len(score)
    while remaining > 0 and len(kept) <= top_k:
        m = int(np.argmax(score))
        tmin, tmax = segs[m]
        inter = pairwise_intersection(segs[m:m + 1], segs)[0]
        # Only overlapping candidates can change: IoU 0 decays by exp(0) = 1 at most.
        near = np.flatnonzero(inter > 0)
        iou = inter[near] / (length[m] + length[near] - inter[near])
        decay = (iou > low_threshold + (high_threshold - low_threshold) * (tmax - tmin)) \
            & (near != m)
        score[near[decay]] *= np.exp(-np.square(iou[decay]) / alpha)
        kept.append((tmin, tmax, score[m]))
        score[m] = -np.inf
        remaining -= 1
    return np.array(kept, dtype=np.float64).reshape(-1, 3)


# ---------------------------------------------------------------- mmloc/models/ssn/postprocess.py
def legacy_ssn_hard_suppression(segments: np.ndarray, scores: np.ndarray,
                                iou_threshold: float) -> np.ndarray:
    """Greedy hard NMS: keep the best, drop the rest with IoU ``> iou_threshold``.

    Returns the kept indices in descending-score order (numpy argsort order for ties).
    """
    order = np.argsort(scores)[::-1]
    if len(order) == 0:
        return order
    iou = pairwise_temporal_iou(segments[order], segments[order])
    alive = np.ones(len(order), bool)
    keep = []
    for i in range(len(order)):
        if not alive[i]:
            continue
        keep.append(order[i])
        alive[i + 1:] &= iou[i, i + 1:] <= iou_threshold
    return np.asarray(keep, np.int64)


# ---------------------------------------------------------------- mmloc/models/afsd/inference.py
def legacy_afsd_soft_suppression(dets: np.ndarray, sigma: float = 0.5, top_k: int = 5000,
                                 score_threshold: float = 0.001) -> np.ndarray:
    """AFSD's ``softnms_v2`` on one class (spec §5.2).

    While more than one candidate is live and fewer than ``top_k`` are kept: keep the
    arg-max, multiply every other live score by ``exp(-IoU²/sigma)`` and kill those below
    ``score_threshold``. The single candidate still live at the end is dropped.

    Args:
        dets: (N, 3) ``[t0, t1, score]`` (any one time unit).

    Returns:
        (M, 3) kept rows in **input order**, with the score each had when it was kept.
    """
    dets = np.asarray(dets, dtype=np.float64).reshape(-1, 3)
    start, end = dets[:, 0], dets[:, 1]
    scores = dets[:, 2].copy()
    length = end - start
    live = scores >= score_threshold
    kept = np.zeros(len(dets), dtype=bool)
    while live.sum() > 1 and kept.sum() < top_k:
        top = int(np.argmax(np.where(live, scores, -np.inf)))
        kept[top] = True
        live[top] = False
        inter = np.clip(np.minimum(end, end[top]) - np.maximum(start, start[top]), 0.0, None)
        # The original floors only the selected segment's length in the union.
        iou = inter / (length + max(length[top], 1e-5) - inter)
        scores = np.where(live, scores * np.exp(-iou ** 2 / sigma), scores)
        live &= scores >= score_threshold
    out = dets[kept].copy()
    out[:, 2] = scores[kept]
    return out
