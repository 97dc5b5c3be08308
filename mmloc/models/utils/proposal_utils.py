"""Soft-NMS and BMN/BSN post-processing on arrays (spec §3.7).

Times inside are normalised to [0, 1] along the feature axis; ``post_processing``
turns them into seconds with the caller's ``duration_s`` (``output_duration_s``).
"""
from __future__ import annotations

import numpy as np

from mmloc.structures.segment_ops import pairwise_intersection


def _as_candidates(proposals, name: str) -> np.ndarray:
    arr = np.asarray(proposals, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] < 3:
        raise ValueError(f'{name}: expected an (N, >=3) array [tmin, tmax, ..., score], '
                         f'got shape {arr.shape}')
    return arr


def soft_nms(proposals: np.ndarray, alpha: float, low_threshold: float,
             high_threshold: float, top_k: int) -> np.ndarray:
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


def post_processing(candidates: np.ndarray, duration_s: float, soft_nms_alpha: float,
                    soft_nms_low_threshold: float, soft_nms_high_threshold: float,
                    post_process_top_k: int) -> tuple:
    """Soft-NMS, sort, cut to top-k and scale to seconds (spec §3.7 steps 1-4).

    Args:
        candidates: (N, >=3) columns ``tmin, tmax, ..., score`` (score last),
            normalised times.
        duration_s: seconds that normalised time 1 maps to, i.e.
            ``output_duration_s(duration_second, duration_frame, interval)``.
        soft_nms_alpha, soft_nms_low_threshold, soft_nms_high_threshold: Soft-NMS
            parameters (see :func:`soft_nms`).
        post_process_top_k: number of proposals kept.

    Returns:
        ``segments_s`` (K, 2) float64 seconds ``[max(0, tmin), min(1, tmax)] * duration_s``
        and ``scores`` (K,) float64, sorted by score descending, K <= top_k.
    """
    result = _as_candidates(candidates, 'post_processing') if len(candidates) else \
        np.zeros((0, 3), dtype=np.float64)
    if len(result) > 1:
        result = soft_nms(result, soft_nms_alpha, soft_nms_low_threshold,
                          soft_nms_high_threshold, post_process_top_k)
    result = result[result[:, -1].argsort()[::-1]][:post_process_top_k]
    segments = np.stack([np.maximum(0.0, result[:, 0]) * duration_s,
                         np.minimum(1.0, result[:, 1]) * duration_s], axis=1)
    return segments.astype(np.float64).reshape(-1, 2), result[:, -1].astype(np.float64)
