"""BMN/BSN post-processing on arrays (spec §3.7): Soft-NMS, top-k, seconds.

Times inside are normalised to [0, 1] along the feature axis; ``post_processing``
turns them into seconds through the video's ``TimeGrid`` (``output_duration_s``).
The Soft-NMS is MMAction2's, from the one NMS module
(:func:`mmloc.models.post_processing.nms.mmaction2_soft_nms`).
"""
from __future__ import annotations

from typing import Union

import numpy as np

from mmloc.models.post_processing.nms import mmaction2_soft_nms
from mmloc.structures import Segments, TimeGrid


def _as_candidates(proposals, name: str, dtype=np.float64) -> np.ndarray:
    arr = np.asarray(proposals, dtype=dtype)
    if arr.ndim != 2 or arr.shape[1] < 3:
        raise ValueError(f'{name}: expected an (N, >=3) array [tmin, tmax, ..., score], '
                         f'got shape {arr.shape}')
    return arr


def post_processing(candidates: np.ndarray, duration_s: Union[float, TimeGrid],
                    soft_nms_alpha: float, soft_nms_low_threshold: float,
                    soft_nms_high_threshold: float, post_process_top_k: int,
                    dtype=np.float64) -> tuple:
    """Soft-NMS, sort, cut to top-k and scale to seconds (spec §3.7 steps 1-4).

    Args:
        candidates: (N, >=3) columns ``tmin, tmax, ..., score`` (score last),
            normalised times.
        duration_s: the video's :class:`TimeGrid` (normalised -> seconds is
            ``u * output_span_s``, for ActivityNet ``output_duration_s(duration_second,
            duration_frame, interval)``), or that span in seconds.
        soft_nms_alpha, soft_nms_low_threshold, soft_nms_high_threshold: Soft-NMS
            parameters (see :func:`mmaction2_soft_nms`).
        post_process_top_k: number of proposals kept.
        dtype: arithmetic of the Soft-NMS and the sort: float64 (BMN), or float32 (MMAction2
            runs BSN PEM's float32 rows in float32; its ties and exact-threshold IoUs follow).

    Returns:
        ``segments_s`` (K, 2) float64 seconds ``[max(0, tmin), min(1, tmax)] * duration_s``
        and ``scores`` (K,) float64, sorted by score descending, K <= top_k.
    """
    result = _as_candidates(candidates, 'post_processing', dtype) if len(candidates) else \
        np.zeros((0, 3), dtype=dtype)
    if len(result) > 1:
        result = mmaction2_soft_nms(result, soft_nms_alpha, soft_nms_low_threshold,
                                    soft_nms_high_threshold, post_process_top_k, dtype=dtype)
    result = result[result[:, -1].argsort()[::-1]][:post_process_top_k]
    grid = duration_s if isinstance(duration_s, TimeGrid) else TimeGrid.from_span(duration_s)
    result = result.astype(np.float64)  # float32 values are exact in float64
    clipped = np.stack([np.maximum(0.0, result[:, 0]), np.minimum(1.0, result[:, 1])], axis=1)
    segments = Segments(clipped.reshape(-1, 2), 'normalised').to('second', grid).numpy()
    return segments.astype(np.float64).reshape(-1, 2), result[:, -1].astype(np.float64)
