"""AFSD post-processing (spec §5): decode one window, collect per-class detections, merge the
windows of a video and run AFSD's Gaussian Soft-NMS per class.

AFSD's Soft-NMS (``softnms_v2``) is :func:`mmloc.models.post_processing.nms.afsd_soft_nms`:
Gaussian with no IoU threshold, rows kept in input order and **the last live candidate
dropped**, unlike MMAction2's.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch

from mmloc.models.post_processing.nms import afsd_soft_nms
from mmloc.structures import Segments, TimeGrid

from .targets import decode_refined

RAW_KEYS = ('loc', 'conf', 'prop_loc', 'prop_conf', 'center')


def average_raw_outputs(a: Dict[str, torch.Tensor], b: Dict[str, torch.Tensor]
                        ) -> Dict[str, torch.Tensor]:
    """RGB+flow fusion (spec §5.3): average the **raw** outputs before decoding."""
    fused = dict(a)
    for key in RAW_KEYS:
        fused[key] = 0.5 * (a[key] + b[key])
    return fused


def decode_window(loc: torch.Tensor, conf: torch.Tensor, prop_loc: torch.Tensor,
                  prop_conf: torch.Tensor, center: torch.Tensor, priors: torch.Tensor,
                  clip_length: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Segments and class scores of one window (spec §5.1).

    Args:
        loc, prop_loc: (K, 2). conf, prop_conf: (K, nc) logits. center: (K, 1) logit.
        priors: (K,) normalised centres. clip_length: ``L``.

    Returns:
        segments: (K, 2) frames of the window, clamped to ``[0, L]``.
        scores: (K, nc) ``0.5·(softmax(conf) + softmax(prop_conf)) · sigmoid(center)``.
    """
    dist = decode_refined(loc, prop_loc)
    centre = priors * clip_length
    segments = torch.stack([centre - dist[:, 0], centre + dist[:, 1]], dim=1).clamp(0, clip_length)
    scores = 0.5 * (conf.softmax(-1) + prop_conf.softmax(-1)) * center.sigmoid()
    return segments, scores


def collect_detections(segments: np.ndarray, scores: np.ndarray, window_grid: TimeGrid,
                       conf_thresh: float = 0.01) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class candidates of one window, in seconds of the video.

    Args:
        segments: (K, 2) window frames. scores: (K, nc), column 0 = background.
        window_grid: the window's frame grid, e.g.
            ``TimeGrid.from_fps(sample_fps, num_frames).cropped(offset, L)``:
            seconds ``(frame + offset) / sample_fps``.
        conf_thresh: keep ``score > conf_thresh``.

    Returns:
        segments_s (D, 2) seconds, scores (D,), labels (D,) 1-based class indices.
    """
    rows, cols = np.nonzero(scores[:, 1:] > conf_thresh)
    labels = cols + 1
    segs = Segments(segments[rows], 'index').to('second', window_grid).numpy()
    return segs.astype(np.float64), scores[rows, labels].astype(np.float64), labels.astype(np.int64)


def merge_video_detections(windows: Sequence[Tuple[np.ndarray, np.ndarray, np.ndarray]],
                           num_classes: int, sigma: float = 0.5, top_k: int = 5000,
                           score_threshold: float = 0.001
                           ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate every window's detections per class and Soft-NMS them over the video.

    Args:
        windows: per window ``(segments_s (D,2), scores (D,), labels (D,))``.
        num_classes: including background.

    Returns:
        segments_s (P, 2), scores (P,), labels (P,) 1-based, sorted by score descending;
        rows with score 0 are dropped and there is no cap across classes.
    """
    segs = np.concatenate([np.asarray(w[0], np.float64).reshape(-1, 2) for w in windows] or
                          [np.zeros((0, 2))])
    scores = np.concatenate([np.asarray(w[1], np.float64).reshape(-1) for w in windows] or
                            [np.zeros(0)])
    labels = np.concatenate([np.asarray(w[2], np.int64).reshape(-1) for w in windows] or
                            [np.zeros(0, np.int64)])
    out_s: List[np.ndarray] = []
    out_l: List[np.ndarray] = []
    for cls in range(1, num_classes):
        sel = labels == cls
        if not sel.any():
            continue
        kept = afsd_soft_nms(np.concatenate([segs[sel], scores[sel, None]], axis=1),
                             sigma, top_k, score_threshold)
        kept = kept[kept[:, 2] > 0]
        out_s.append(kept)
        out_l.append(np.full(len(kept), cls, np.int64))
    if not out_s:
        return np.zeros((0, 2)), np.zeros(0), np.zeros(0, np.int64)
    dets = np.concatenate(out_s)
    labels = np.concatenate(out_l)
    order = np.argsort(-dets[:, 2], kind='stable')
    return dets[order, :2], dets[order, 2], labels[order]


def fuse_detection_results(rgb: Dict[str, dict], flow: Dict[str, dict], sigma: float = 0.5,
                           top_k: int = 5000, score_threshold: float = 0.001
                           ) -> Dict[str, dict]:
    """Late fusion of two results dicts (``read_results`` layout, labels = class names).

    Per video and class, both streams' detections are pooled with halved scores and
    re-suppressed with ``afsd_soft_nms``. Returns ``{video: {segments, scores, labels}}``
    sorted by score, descending.
    """
    fused = {}
    for vid in list(dict.fromkeys(list(rgb) + list(flow))):
        segs, scores, labels = [], [], []
        for stream in (rgb, flow):
            rec = stream.get(vid)
            if rec is None or len(rec['scores']) == 0:
                continue
            segs.append(np.asarray(rec['segments'], np.float64).reshape(-1, 2))
            scores.append(0.5 * np.asarray(rec['scores'], np.float64))
            labels.extend(rec['labels'])
        if not segs:
            fused[vid] = dict(segments=np.zeros((0, 2)), scores=np.zeros(0), labels=[])
            continue
        segs, scores = np.concatenate(segs), np.concatenate(scores)
        labels = np.asarray(labels, dtype=object)
        out_d, out_l = [], []
        for name in dict.fromkeys(labels.tolist()):
            sel = labels == name
            kept = afsd_soft_nms(np.concatenate([segs[sel], scores[sel, None]], 1),
                                 sigma, top_k, score_threshold)
            kept = kept[kept[:, 2] > 0]
            out_d.append(kept)
            out_l.extend([name] * len(kept))
        dets = np.concatenate(out_d)
        order = np.argsort(-dets[:, 2], kind='stable')
        fused[vid] = dict(segments=dets[order, :2], scores=dets[order, 2],
                          labels=[out_l[i] for i in order])
    return fused
