"""SSN test-time detections (spec §5.6): combined scores, top-k, regression, per-class NMS.

The NMS is the greedy hard one of :func:`mmloc.models.post_processing.nms.hard_nms`.

Zero-length detections (a regression that pushes a proposal outside [0, 1] clips both ends to
the same point) can never match a ground truth (IoU 0), so by default they are dropped before
NMS. MMAction2 0.x kept them, and its NMS computed their mutual IoU as 0/0 = NaN, so the best
zero-length detection of a class removed every other zero-length one of that class:
``zero_length='mmaction2_0x'`` reproduces that (and 0.x's published numbers); ``'keep'`` keeps
them all with IoU 0 between them.

Units: proposal and detection boundaries are **relative** (fractions of the video) until
the caller multiplies them by the video duration.
"""
from __future__ import annotations

import numpy as np

from mmloc.models.post_processing.nms import hard_nms


#: What ``ssn_detections`` does with zero-length detections.
ZERO_LENGTH_POLICIES = ('drop', 'mmaction2_0x', 'keep')


def combined_scores(activity: np.ndarray, completeness: np.ndarray) -> np.ndarray:
    """``softmax(activity[:, 1:]) * exp(completeness)`` -> (P, K).

    The softmax runs over the K foreground classes only (background column dropped).
    """
    fg = np.asarray(activity, np.float64)[:, 1:]
    fg = np.exp(fg - fg.max(1, keepdims=True))
    fg /= fg.sum(1, keepdims=True)
    return fg * np.exp(np.asarray(completeness, np.float64))


def apply_regression(segments: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """Shift/scale relative segments: ``c' = c + d loc``, ``d' = d exp(size)``, clip to [0, 1].

    Args: segments (N, 2) relative, reg (N, 2) de-normalised ``[loc, size]``.
    """
    seg = np.asarray(segments, np.float64)
    c = (seg[:, 0] + seg[:, 1]) / 2
    d = seg[:, 1] - seg[:, 0]
    c2 = c + d * reg[:, 0]
    d2 = d * np.exp(reg[:, 1])
    return np.clip(np.stack([c2 - d2 / 2, c2 + d2 / 2], 1), 0.0, 1.0)


def ssn_detections(relative_proposals: np.ndarray, activity: np.ndarray,
                   completeness: np.ndarray, bbox_preds=None, top_k: int = 2000,
                   nms_iou: float = 0.2, use_regression: bool = True,
                   zero_length: str = 'drop'):
    """Detections of one video.

    Args:
        relative_proposals: (P, 2) relative proposals. activity: (P, K + 1).
        completeness: (P, K). bbox_preds: (P, K, 2) de-normalised ``[loc, size]`` or None.
        top_k: keep this many (proposal, class) entries of the combined scores (<= 0: all).
        zero_length: ``'drop'`` zero-length detections before NMS, ``'mmaction2_0x'``
            (0.x's NaN-IoU suppression among them) or ``'keep'`` (see the module docstring).

    Returns:
        segments (D, 2) relative, scores (D,), labels (D,) 0-based, sorted by score
        descending; NMS is per class.
    """
    scores = combined_scores(activity, completeness)
    num_p, k = scores.shape
    flat = scores.ravel()
    keep = np.argsort(flat)[-top_k:] if top_k > 0 else np.arange(flat.size)
    prop_idx, cls_idx = keep // k, keep % k
    segs = np.asarray(relative_proposals, np.float64)[prop_idx]
    if use_regression and bbox_preds is not None:
        segs = apply_regression(segs, np.asarray(bbox_preds, np.float64)[prop_idx, cls_idx])
    det_s = flat[keep]
    if zero_length not in ZERO_LENGTH_POLICIES:
        raise ValueError(f'ssn_detections: zero_length must be one of {ZERO_LENGTH_POLICIES}, '
                         f'got {zero_length!r}')
    if zero_length == 'drop':
        nonzero = segs[:, 1] > segs[:, 0]
        segs, det_s, cls_idx = segs[nonzero], det_s[nonzero], cls_idx[nonzero]
    out_seg, out_score, out_label = [], [], []
    for c in np.unique(cls_idx):
        sel = np.flatnonzero(cls_idx == c)
        kept = sel[hard_nms(segs[sel], det_s[sel], nms_iou,
                            zero_length_overlap=zero_length == 'mmaction2_0x')]
        out_seg.append(segs[kept])
        out_score.append(det_s[kept])
        out_label.append(np.full(len(kept), c, np.int64))
    if not out_seg:
        return np.zeros((0, 2)), np.zeros(0), np.zeros(0, np.int64)
    seg, sc, lab = np.concatenate(out_seg), np.concatenate(out_score), np.concatenate(out_label)
    order = np.argsort(-sc, kind='stable')
    return seg[order], sc[order], lab[order]
