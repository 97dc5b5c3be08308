"""AFSD sliding windows, boundary labels and the contrastive clip (spec §1.4, §1.6, §4.7).

Pure functions on arrays. Units: **resampled frames** (10 fps for THUMOS14) unless stated;
window GT rows are ``[s, e, label]`` in frames of the window.
"""
from __future__ import annotations

import math
from typing import List, Optional, Tuple

import numpy as np

from mmloc.structures.windows import window_offsets  # noqa: F401 (also importable from here)


def split_training_windows(sample_count: int, gts: np.ndarray, clip_length: int, stride: int
                           ) -> Tuple[List[Tuple[int, np.ndarray]], int]:
    """Training windows of one video and their GTs (spec §1.4).

    A window ``[offset+1, offset+L]`` is kept only if some GT lies fully inside it
    (``ioa >= 1``); its GTs are those with ``ioa >= 0.5``, shifted and clipped to
    ``[max(s-offset, 1), min(e-offset, L)]``.

    Args:
        sample_count: frames of the video. gts: (G, 3) ``[s, e, label]`` in video frames.
        clip_length: ``L``. stride: window stride.

    Returns:
        ``[(offset, window_gts (n, 3) float64), …]`` and ``th``: ``ceil`` of the shortest
        clipped GT over all kept windows, starting from ``L`` (used by the contrastive clip).
    """
    gts = np.asarray(gts, dtype=np.float64).reshape(-1, 3)
    windows = []
    th = float(clip_length)
    length = gts[:, 1] - gts[:, 0]
    for offset in window_offsets(sample_count, clip_length, stride):
        lo, hi = offset + 1, offset + clip_length
        inter = np.minimum(hi, gts[:, 1]) - np.maximum(lo, gts[:, 0])
        # A zero-length GT has no defined ioa: it never keeps a window nor joins one.
        ioa = np.where(length > 0, inter / np.where(length > 0, length, 1.0), 0.0)
        if not (ioa >= 1).any():
            continue
        sel = gts[ioa >= 0.5]
        clipped = np.stack([np.maximum(sel[:, 0] - offset, 1), np.minimum(sel[:, 1] - offset,
                                                                          clip_length),
                            sel[:, 2]], axis=1)
        th = min(th, float((clipped[:, 1] - clipped[:, 0]).min()))
        windows.append((offset, clipped))
    return windows, int(math.ceil(th))


def boundary_labels(window_gts: np.ndarray, clip_length: int) -> Tuple[np.ndarray, np.ndarray]:
    """Start/end labels of a window (spec §1.4).

    For each GT ``[s, e]``, ``d = max((e-s)/10, 2)``; frames ``round(s-d/2) .. round(s+d/2)``
    (inclusive, clipped to ``[0, L-1]``, Python half-to-even rounding) are start frames, and
    the same around ``e`` for the end.

    Returns:
        start, end: (L,) float32 0/1.
    """
    start = np.zeros(clip_length, np.float32)
    end = np.zeros(clip_length, np.float32)
    for s, e in np.asarray(window_gts, dtype=np.float64).reshape(-1, 3)[:, :2]:
        d = max((e - s) / 10.0, 2.0)
        for label, centre in ((start, s), (end, e)):
            lo = min(max(round(float(centre - d / 2)), 0), clip_length - 1)
            hi = min(max(round(float(centre + d / 2)), 0), clip_length - 1)
            label[lo:hi + 1] = 1
    return start, end


def contrastive_clip(frames: np.ndarray, window_gts: np.ndarray, th: int,
                     rng: np.random.Generator) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
    """Cut an action and insert a background piece into the cut (spec §4.7, one attempt).

    Args:
        frames: (L, ...) window frames (time first; any dtype: it only moves frames).
        window_gts: (n, 3) ``[s, e, label]`` window frames. th: inserted length (int).
        rng: numpy generator.

    Returns:
        ``(frames', segments (3, 2))`` with segments ``[action part 1, action part 2,
        inserted background]`` in frames, or ``(None, None)`` when no valid cut exists.
    """
    clip_length = frames.shape[0]
    gts = np.asarray(window_gts, dtype=np.float64).reshape(-1, 3)
    th = int(th)
    long_enough = np.nonzero(gts[:, 1] - gts[:, 0] > 2 * th)[0]
    if th < 1 or len(long_enough) == 0:
        return None, None
    s, e = gts[rng.choice(long_enough), :2]
    t = int(rng.integers(math.floor(th), math.ceil((e - s) - th))) + math.ceil(s)
    bounds = sorted([0.0, float(clip_length - 1)] + gts[:, :2].ravel().tolist())
    gt_pairs = {(float(a), float(b)) for a, b in gts[:, :2]}
    pairs = [(a, b) for a, b in zip(bounds[:-1], bounds[1:])
             if (a, b) not in gt_pairs and math.floor(b) - math.ceil(a) > th]
    if not pairs:
        return None, None
    a, b = pairs[int(rng.integers(len(pairs)))]
    bg0, bg1 = math.ceil(a), math.floor(b)
    st = int(rng.integers(bg0, bg1 - th))
    en = st + th
    out = frames.copy()
    if e < st:  # background after the action: shift [t, st) right by th
        if out[t + th:en].shape[0] != st - t or t + th > clip_length:
            return None, None
        out[t:t + th] = frames[st:en]
        out[t + th:en] = frames[t:st]
        segs = [[s, t], [t + th, e + th], [t + 1, t + th - 1]]
    else:  # background before the action: shift [en, t) left by th
        if t - th < st or en > t:
            return None, None
        out[st:t - th] = frames[en:t]
        out[t - th:t] = frames[st:en]
        segs = [[s - th, t - th], [t, e], [t - th + 1, t - 1]]
    return out, np.asarray(segs, dtype=np.float64)
