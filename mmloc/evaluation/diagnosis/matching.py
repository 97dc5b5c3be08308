"""Per-detection facts that DETAD's analyses need, on top of the official greedy matching.

The matching itself (which GT each prediction takes at each tIoU threshold) is
:func:`mmloc.evaluation.functional.detection_map.match_detections`; this module adds what it
does not return: flat arrays in the same order and each prediction's best-overlapping GT of *any* class in its video (for the false-positive categories).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from mmloc.structures.segment_ops import pairwise_temporal_iou


def flatten_ground_truth(ground_truth: Mapping) -> dict:
    """``{video: (segments (G, 2) s, labels (G,) int)}`` -> flat arrays in dict order.

    This is the order of ``match_detections``' flat GT index (``matched_gt``).

    Returns:
        ``dict(videos=[ids], segments=(M, 2) float64 s, labels=(M,) int64,
        video=(M,) int64 index into videos)``.
    """
    videos, segs, labs, vidx = [], [], [], []
    for i, (vid, value) in enumerate(ground_truth.items()):
        s = np.asarray(value[0], dtype=np.float64).reshape(-1, 2)
        lab = np.asarray(value[1], dtype=np.int64).reshape(-1)
        if lab.shape[0] != s.shape[0]:
            raise ValueError(f'ground truth: video {vid}: {s.shape[0]} segments but '
                             f'{lab.shape[0]} labels')
        videos.append(vid)
        segs.append(s)
        labs.append(lab)
        vidx.append(np.full(s.shape[0], i, dtype=np.int64))
    cat = (lambda xs, shape: np.concatenate(xs) if xs else np.zeros(shape))
    return dict(videos=videos, segments=cat(segs, (0, 2)),
                labels=cat(labs, 0).astype(np.int64), video=cat(vidx, 0).astype(np.int64))


def flatten_predictions(predictions: Mapping) -> dict:
    """``{video: (segments (P, 2) s, scores (P,), labels (P,) int)}`` -> flat arrays in dict order
    (the order of ``match_detections``' rows).

    Returns:
        ``dict(videos=[ids], segments=(N, 2), scores=(N,), labels=(N,) int64, video=(N,) int64)``.
    """
    videos, segs, scores, labs, vidx = [], [], [], [], []
    for i, (vid, value) in enumerate(predictions.items()):
        s = np.asarray(value[0], dtype=np.float64).reshape(-1, 2)
        sc = np.asarray(value[1], dtype=np.float64).reshape(-1)
        lab = np.asarray(value[2], dtype=np.int64).reshape(-1)
        if not (sc.shape[0] == lab.shape[0] == s.shape[0]):
            raise ValueError(f'predictions: video {vid}: {s.shape[0]} segments, '
                             f'{sc.shape[0]} scores, {lab.shape[0]} labels')
        videos.append(vid)
        segs.append(s)
        scores.append(sc)
        labs.append(lab)
        vidx.append(np.full(s.shape[0], i, dtype=np.int64))
    cat = (lambda xs, shape: np.concatenate(xs) if xs else np.zeros(shape))
    return dict(videos=videos, segments=cat(segs, (0, 2)), scores=cat(scores, 0),
                labels=cat(labs, 0).astype(np.int64), video=cat(vidx, 0).astype(np.int64))


def top_gt_overlap(gt: Mapping, pred: Mapping) -> tuple[np.ndarray, np.ndarray]:
    """Best-overlapping GT of any class for every prediction (DETAD's ``tiou_arr.argmax()``).

    Args:
        gt: :func:`flatten_ground_truth` output. pred: :func:`flatten_predictions` output.

    Returns:
        ``top_iou`` (N,) float64, ``nan`` when the prediction's video has no GT, and
        ``top_label`` (N,) int64 (label of the first GT, in GT order, reaching ``top_iou``;
        ``-1`` when the video has no GT).
    """
    n = pred['labels'].shape[0]
    top_iou = np.full(n, np.nan)
    top_label = np.full(n, -1, dtype=np.int64)
    gt_rows: dict = {}
    for vid, idx in _groups(gt['video']):
        gt_rows[gt['videos'][vid]] = idx
    for vid, idx in _groups(pred['video']):
        g = gt_rows.get(pred['videos'][vid])
        if g is None or g.size == 0:
            continue
        iou = pairwise_temporal_iou(pred['segments'][idx], gt['segments'][g])   # (P, G)
        arg = iou.argmax(axis=1)
        top_iou[idx] = iou[np.arange(idx.size), arg]
        top_label[idx] = gt['labels'][g][arg]
    return top_iou, top_label


def _groups(video: np.ndarray):
    """(video index, row indices) of each video present in ``video`` (stable)."""
    order = np.argsort(video, kind='stable')
    v = video[order]
    cuts = np.flatnonzero(np.diff(v)) + 1
    for rows in np.split(order, cuts):
        if rows.size:
            yield int(video[rows[0]]), rows
