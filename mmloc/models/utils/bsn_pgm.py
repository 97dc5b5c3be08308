"""BSN proposal generation (PGM) and BSP features: pure, vectorised numpy (spec §4.2, §4.3).

Units: every time here is **normalised** (``u`` in [0, 1] along the feature axis);
``snippet_idx`` are integer rows of the TEM output. Nothing here reads or writes files:
see ``mmloc.apis.bsn_pgm_runner`` for the file-level driver.

TEM output layout (spec §1.6a): ``tem`` (L, 5) rows ``[action, start, end, tmin, tmax]``
with ``tmin = i / L`` and ``tmax = (i + 1) / L``.
"""
from __future__ import annotations

import numpy as np

from mmloc.structures.segment_ops import pairwise_temporal_iop, pairwise_temporal_iou

def _check_tem(tem: np.ndarray, min_cols: int) -> np.ndarray:
    tem = np.asarray(tem)
    if tem.ndim != 2 or tem.shape[1] < min_cols or tem.shape[0] < 2:
        raise ValueError(f'TEM output: expected an array (L >= 2, >= {min_cols}) of rows '
                         f'[action, start, end, tmin, tmax], got shape {tem.shape}')
    return tem


def boundary_mask(scores: np.ndarray, temporal_scale: int, peak_threshold: float) -> np.ndarray:
    """Snippets that may start (or end) a proposal (spec §4.2 step 2).

    A snippet is kept if it is the first or last row of ``scores``, a strict local
    maximum, or above ``peak_threshold * max(scores)``. As in MMAction2, the forced
    ends are rows 0 and ``L - 1`` of the whole curve and the maximum runs over all
    ``L`` rows, while the peak test covers ``1 .. temporal_scale - 2`` and only rows
    ``< temporal_scale`` are returned (they agree when ``L == temporal_scale``).

    Args:
        scores: (L,) start or end probabilities, L >= temporal_scale.
        temporal_scale: number of snippets that may become candidates.
        peak_threshold: share of the maximum above which a snippet is kept.

    Returns:
        (temporal_scale,) bool mask over snippet indices.
    """
    scores = np.asarray(scores)
    length = scores.shape[0]
    if not 2 <= temporal_scale <= length:
        raise ValueError(f'temporal_scale must be in [2, {length}] (rows of the TEM output), '
                         f'got {temporal_scale}')
    mask = np.zeros(length, dtype=bool)
    mask[[0, -1]] = True
    inner = scores[1:temporal_scale - 1]
    peak = (inner > scores[2:temporal_scale]) & (inner > scores[:temporal_scale - 2])
    mask[1:temporal_scale - 1] |= peak | (inner > peak_threshold * scores.max())
    return mask[:temporal_scale]


def generate_candidate_proposals(tem: np.ndarray, temporal_scale: int, peak_threshold: float,
                                 gt_segments: np.ndarray | None = None) -> np.ndarray:
    """Candidate proposals of one video from its TEM output (spec §4.2).

    Every kept start snippet is paired with every kept end snippet that lies strictly
    later; candidate times are snippet centres ``(i + 0.5) / temporal_scale``. There is
    no maximum duration (at most ``T (T - 1) / 2`` rows).

    Args:
        tem: (L, >=3) TEM output; column 1 = start, column 2 = end probability.
        temporal_scale: T, snippets that may become boundaries (normally L).
        peak_threshold: see :func:`boundary_mask` (config value 0.5).
        gt_segments: (G, 2) ground truth, normalised by ``corrected_second`` and not
            clipped (spec §1.3). ``None`` or G = 0 gives ``match_iou = match_ioa = 0``
            (MMAction2 fails on such videos).

    Returns:
        (K, 7) float64 rows ``[tmin, tmax, tmin_score, tmax_score, score, match_iou,
        match_ioa]`` sorted by ``score = tmin_score * tmax_score`` descending (numpy's
        default argsort, reversed, on rows built end-major like MMAction2).
    """
    tem = _check_tem(tem, 3)
    start_scores, end_scores = tem[:, 1], tem[:, 2]
    start_idx = np.flatnonzero(boundary_mask(start_scores, temporal_scale, peak_threshold))
    end_idx = np.flatnonzero(boundary_mask(end_scores, temporal_scale, peak_threshold))
    gap = 1. / temporal_scale
    tmins = gap / 2 + gap * start_idx
    tmaxs = gap / 2 + gap * end_idx
    # (E, S) pairs; nonzero walks it row-major = ends outer, starts inner, as the loop does.
    e_sel, s_sel = np.nonzero(tmins[None, :] < tmaxs[:, None])
    props = np.empty((e_sel.size, 7), dtype=np.float64)
    props[:, 0] = tmins[s_sel]
    props[:, 1] = tmaxs[e_sel]
    props[:, 2] = start_scores[start_idx[s_sel]]
    props[:, 3] = end_scores[end_idx[e_sel]]
    props[:, 4] = props[:, 2] * props[:, 3]
    props = props[np.argsort(props[:, 4])[::-1]]
    props[:, 5:] = match_ground_truth(props[:, :2], gt_segments)
    return props


def match_ground_truth(segments: np.ndarray, gt_segments: np.ndarray | None) -> np.ndarray:
    """Best IoU and best IoA (``inter / len(segment)``) of each segment over the GT.

    Args:
        segments: (K, 2) normalised proposals.
        gt_segments: (G, 2) normalised GT, or None.

    Returns:
        (K, 2) float64 ``[match_iou, match_ioa]``; zeros when there is no GT.
    """
    out = np.zeros((len(segments), 2), dtype=np.float64)
    if gt_segments is None or len(segments) == 0:
        return out
    gt = np.asarray(gt_segments, dtype=np.float64).reshape(-1, 2)
    if len(gt) == 0:
        return out
    out[:, 0] = pairwise_temporal_iou(segments, gt).max(axis=1)
    out[:, 1] = pairwise_temporal_iop(segments, gt).max(axis=1)
    return out


def padded_action_curve(tem: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Actionness with ``E = int(L / 4 + 10)`` zeros on each side and its times (spec §4.3).

    Args:
        tem: (L, 5) TEM output; column 0 = actionness, 3/4 = anchor tmin/tmax.

    Returns:
        ``(t_points, curve)``, each (L + 2E,) float64: snippet centres (normalised,
        extended by the anchor gap beyond both ends) and the padded actionness.
    """
    tem = _check_tem(tem, 5)
    length = tem.shape[0]
    gap = float(tem[0, 4] - tem[0, 3])  # in the TEM file's dtype, as MMAction2
    extend = int(length / 4 + 10)
    i_ext = np.arange(extend)
    t_points = np.concatenate([
        -gap / 2 - (extend - 1 - i_ext) * gap,
        gap / 2 + np.arange(length) * gap,
        gap / 2 + float(tem[-1, 4]) + i_ext * gap,
    ])
    zeros = np.zeros(extend)
    curve = np.concatenate([zeros, tem[:, 0].astype(np.float64), zeros])
    return t_points, curve


def _sample_points(lo: np.ndarray, hi: np.ndarray, num_sample: int, num_interp: int) -> np.ndarray:
    """(K, num_sample * num_interp + 1) interpolation points covering [lo, hi] per row."""
    step = (hi - lo) / (num_sample - 1)
    sub = step / num_interp
    k = np.arange(num_sample * num_interp + 1)
    return (lo - step / 2)[:, None] + sub[:, None] * k


def _bin_means(values: np.ndarray, num_sample: int, num_interp: int) -> np.ndarray:
    """(K, n*m + 1) -> (K, n): mean of points ``j*m .. j*m + m`` (neighbours share one)."""
    windows = np.lib.stride_tricks.sliding_window_view(values, num_interp + 1, axis=1)
    return windows[:, ::num_interp][:, :num_sample].mean(axis=2)


def generate_bsp_feature(tem: np.ndarray, proposals: np.ndarray, bsp_boundary_ratio: float = 0.2,
                         num_sample_start: int = 8, num_sample_end: int = 8,
                         num_sample_action: int = 16, num_sample_interp: int = 3) -> np.ndarray:
    """Boundary-sensitive proposal features of one video (spec §4.3), one ``np.interp`` call.

    Args:
        tem: (L, 5) TEM output of the video.
        proposals: (K, >=2) normalised ``[tmin, tmax, ...]`` rows (already cut to top_k).
        bsp_boundary_ratio: half-width of the start/end regions as a share of the
            proposal length.
        num_sample_start, num_sample_end, num_sample_action: output samples per region
            (each >= 2).
        num_sample_interp: interpolation points per output sample (>= 1).

    Returns:
        (K, num_sample_action + num_sample_start + num_sample_end) float64, columns
        ``[action samples | start-region samples | end-region samples]``.
    """
    for name, n in (('num_sample_start', num_sample_start), ('num_sample_end', num_sample_end),
                    ('num_sample_action', num_sample_action)):
        if n < 2:
            raise ValueError(f'{name} must be >= 2, got {n}')
    if num_sample_interp < 1:
        raise ValueError(f'num_sample_interp must be >= 1, got {num_sample_interp}')
    proposals = np.asarray(proposals, dtype=np.float64)
    if proposals.ndim != 2 or proposals.shape[1] < 2:
        raise ValueError(f'proposals: expected shape (K, >=2), got {proposals.shape}')
    t_points, curve = padded_action_curve(tem)
    tmin, tmax = proposals[:, 0], proposals[:, 1]
    tlen = tmax - tmin
    regions = (  # (lo, hi, n) in output column order: action, start, end
        (tmin, tmax, num_sample_action),
        (tmin - tlen * bsp_boundary_ratio, tmin + tlen * bsp_boundary_ratio, num_sample_start),
        (tmax - tlen * bsp_boundary_ratio, tmax + tlen * bsp_boundary_ratio, num_sample_end),
    )
    points = [_sample_points(lo, hi, n, num_sample_interp) for lo, hi, n in regions]
    widths = [p.shape[1] for p in points]
    values = np.interp(np.concatenate(points, axis=1), t_points, curve)
    chunks = np.split(values, np.cumsum(widths)[:-1], axis=1)
    return np.concatenate([_bin_means(c, n, num_sample_interp)
                           for c, (_, _, n) in zip(chunks, regions)], axis=1)
