"""Frozen copy of ``mmloc.evaluation.functional.detection_map`` before the batched-IoU /
dense-group / radix-sort changes (commit 2e80330), a test reference only: the current
functions must give bit-identical results."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from mmloc.structures.segment_ops import pairwise_intersection, pairwise_temporal_iou
from mmloc.utils.progress import track

#: ActivityNet detection tIoU thresholds (0.5:0.05:0.95, the official ``np.linspace``).
ANET_TIOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
#: THUMOS14 thresholds 0.3:0.1:0.7 as the exact decimals 0.3, 0.4, 0.5, 0.6, 0.7 (not the
#: ``np.arange`` values 0.6000000000000001 / 0.7000000000000001 that MMAction2's SSN uses).
THUMOS14_TIOU_THRESHOLDS = np.array([0.3, 0.4, 0.5, 0.6, 0.7])
PROTOCOL_TIOU_THRESHOLDS = {'anet': ANET_TIOU_THRESHOLDS, 'thumos14': THUMOS14_TIOU_THRESHOLDS}


def interpolated_average_precision(precision: np.ndarray, recall: np.ndarray) -> float:
    """VOC-2011 interpolated AP of one precision/recall curve ((N,) each, in rank order)."""
    mprec = np.hstack([[0.0], precision, [0.0]])
    mrec = np.hstack([[0.0], recall, [1.0]])
    mprec = np.maximum.accumulate(mprec[::-1])[::-1]
    idx = np.where(mrec[1:] != mrec[:-1])[0] + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))


def _official_iou(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(P, G) float64 IoU, where a zero union (e.g. two zero-length segments) gives ``+inf``.

    The official ``segment_iou`` divides 0 by 0 there; the NaN sorts first in its visiting
    order and passes every ``iou < t`` test, so such a pair is a match at every threshold.
    ``+inf`` reproduces both effects.
    """
    iou = pairwise_temporal_iou(pred, gt)
    union = ((pred[:, 1] - pred[:, 0])[:, None] + (gt[:, 1] - gt[:, 0])[None, :]
             - pairwise_intersection(pred, gt))
    iou[union == 0] = np.inf
    return iou


def _flatten(mapping: Mapping, n_fields: int, what: str):
    vids, cols = [], [[] for _ in range(n_fields)]
    for vid, value in mapping.items():
        if len(value) != n_fields:
            raise ValueError(f'{what}: video {vid}: expected a tuple of {n_fields} arrays')
        segs = np.asarray(value[0], dtype=np.float64).reshape(-1, 2)
        cols[0].append(segs)
        for k in range(1, n_fields):
            arr = np.asarray(value[k]).reshape(-1)
            if arr.shape[0] != segs.shape[0]:
                raise ValueError(f'{what}: video {vid}: {segs.shape[0]} segments but '
                                 f'{arr.shape[0]} values in field {k}')
            cols[k].append(arr)
        vids.append((vid, segs.shape[0]))
    out = [np.concatenate(c) if c else np.zeros((0, 2) if i == 0 else 0)
           for i, c in enumerate(cols)]
    return vids, out


def _class_order(scores: np.ndarray, labels: np.ndarray, num_classes: int,
                 score_order: str) -> list[np.ndarray]:
    """Per class, the prediction indices in ranking order (best first)."""
    orders = []
    by_label = np.argsort(labels, kind='stable')          # input order inside each class
    bounds = np.searchsorted(labels[by_label], np.arange(num_classes + 1))
    for c in range(num_classes):
        idx = by_label[bounds[c]:bounds[c + 1]]
        if score_order == 'official':
            orders.append(idx[np.argsort(scores[idx])[::-1]])
        else:
            orders.append(idx[np.argsort(-scores[idx], kind='stable')])
    return orders


def match_detections(ground_truth: Mapping, predictions: Mapping, num_classes: int,
                     tiou_thresholds=ANET_TIOU_THRESHOLDS, score_order: str = 'official') -> dict:
    """Greedy official matching of every prediction at every threshold.

    Args:
        ground_truth: ``{video_id: (segments (G, 2) s, labels (G,) int)}``.
        predictions: ``{video_id: (segments (P, 2) s, scores (P,), labels (P,) int)}``.
        num_classes: labels must lie in ``[0, num_classes)``.
        tiou_thresholds: (n_thr,) thresholds.
        score_order: ``'official'`` (numpy argsort reversed) or ``'stable'`` (MMAction2).

    Returns:
        dict with ``tp`` (N, n_thr) bool and ``matched_gt`` (N, n_thr) int64 (flat GT index,
        -1 when none) for the predictions flattened in input order (dict order, then item
        order); ``pred_scores``/``pred_labels`` (N,), ``gt_labels`` (M,) and ``class_order``
        (list of per-class index arrays, best first).
    """
    if score_order not in ('official', 'stable'):
        raise ValueError(f"score_order must be 'official' or 'stable', got {score_order!r}")
    thr = np.asarray(tiou_thresholds, dtype=np.float64).reshape(-1)
    n_thr = thr.size
    gt_videos, (gt_seg, gt_lab) = _flatten(ground_truth, 2, 'ground truth')
    pr_videos, (pr_seg, pr_score, pr_lab) = _flatten(predictions, 3, 'predictions')
    gt_lab = gt_lab.astype(np.int64)
    pr_lab = pr_lab.astype(np.int64)
    pr_score = pr_score.astype(np.float64)
    for name, lab in (('ground truth', gt_lab), ('predictions', pr_lab)):
        if lab.size and (lab.min() < 0 or lab.max() >= num_classes):
            raise ValueError(f'{name}: labels must be in [0, {num_classes}), got '
                             f'[{lab.min()}, {lab.max()}]')

    # Video index shared by GT and predictions; contiguous per-video ranges in the flat arrays.
    vid_index: dict = {}
    for vid, _ in gt_videos + pr_videos:
        vid_index.setdefault(vid, len(vid_index))
    n_vid = len(vid_index)
    gt_vid = np.repeat([vid_index[v] for v, _ in gt_videos], [n for _, n in gt_videos]).astype(np.int64)
    pr_vid = np.repeat([vid_index[v] for v, _ in pr_videos], [n for _, n in pr_videos]).astype(np.int64)
    gt_start = np.zeros(n_vid, np.int64)
    gt_count = np.zeros(n_vid, np.int64)
    pr_start = np.zeros(n_vid, np.int64)
    pos = 0
    for v, n in gt_videos:
        gt_start[vid_index[v]], gt_count[vid_index[v]] = pos, n
        pos += n
    pos = 0
    for v, n in pr_videos:
        pr_start[vid_index[v]] = pos
        pos += n

    # One IoU matrix per video (all classes), stored flat: value of (p, g) at
    # iou_off[v] + (p - pr_start[v]) * G_v + (g - gt_start[v]).
    iou_off = np.zeros(n_vid, np.int64)
    chunks, off = [], 0
    for v, n in track(pr_videos, desc='mAP: IoU of the detections per video'):
        vi = vid_index[v]
        if n and gt_count[vi]:
            s = gt_start[vi]
            m = _official_iou(pr_seg[pr_start[vi]:pr_start[vi] + n],
                              gt_seg[s:s + gt_count[vi]])
            iou_off[vi] = off
            chunks.append(m.ravel())
            off += m.size
    flat_iou = np.concatenate(chunks) if chunks else np.zeros(0)

    class_order = _class_order(pr_score, pr_lab, num_classes, score_order)
    rank_in_class = np.empty(pr_lab.size, np.int64)
    for idx in class_order:
        rank_in_class[idx] = np.arange(idx.size)

    # (class, video) groups of GT, in GT order inside each group (the official ``this_gt``).
    gt_key = gt_lab * n_vid + gt_vid
    gt_sorted = np.argsort(gt_key, kind='stable')
    sorted_keys = gt_key[gt_sorted]
    pr_key = pr_lab * n_vid + pr_vid
    grp_lo = np.searchsorted(sorted_keys, pr_key, side='left')
    grp_size = np.searchsorted(sorted_keys, pr_key, side='right') - grp_lo

    tp = np.zeros((pr_lab.size, n_thr), dtype=bool)
    matched_gt = np.full((pr_lab.size, n_thr), -1, dtype=np.int64)
    for g_size in np.unique(grp_size[grp_size > 0]):
        members = np.flatnonzero(grp_size == g_size)
        # GT indices and IoU rows (n_b, g_size) of each member prediction
        gt_idx = gt_sorted[grp_lo[members][:, None] + np.arange(g_size)[None, :]]
        v = pr_vid[members]
        rows = flat_iou[iou_off[v][:, None] + ((members - pr_start[v]) * gt_count[v])[:, None]
                        + (gt_idx - gt_start[v][:, None])]
        # position of each GT in the official visiting order argsort(iou)[::-1]
        order = np.argsort(rows, axis=1)[:, ::-1]
        visit_rank = np.empty_like(order)
        np.put_along_axis(visit_rank, order, np.arange(g_size)[None, :].repeat(len(members), 0),
                          axis=1)
        # sequential steps: the r-th ranked prediction of every group at once
        _, grp_of = np.unique(pr_key[members], return_inverse=True)
        seq = np.lexsort((rank_in_class[members], grp_of))
        grp_sorted = grp_of[seq]
        first = np.r_[0, np.flatnonzero(np.diff(grp_sorted)) + 1]
        step = np.arange(seq.size) - np.repeat(first, np.diff(np.r_[first, seq.size]))
        by_step = np.lexsort((grp_sorted, step))
        seq, step = seq[by_step], step[by_step]
        bounds = np.r_[0, np.flatnonzero(np.diff(step)) + 1, seq.size]
        locked = np.zeros((grp_of.max() + 1, n_thr, g_size), dtype=bool)
        for a, b in zip(bounds[:-1], bounds[1:]):
            loc = seq[a:b]                       # bucket-local rows, distinct groups
            grp = grp_of[loc]
            ok = (rows[loc][:, None, :] >= thr[None, :, None]) & ~locked[grp]
            hit = ok.any(axis=2)                                   # (n, n_thr)
            choice = np.where(ok, visit_rank[loc][:, None, :], g_size).argmin(axis=2)
            r_i, t_i = np.nonzero(hit)
            locked[grp[r_i], t_i, choice[r_i, t_i]] = True
            tp[members[loc]] = hit
            matched_gt[members[loc]] = np.where(hit, gt_idx[loc][np.arange(loc.size)[:, None],
                                                                 choice], -1)
    return dict(tp=tp, matched_gt=matched_gt, pred_scores=pr_score, pred_labels=pr_lab,
                gt_labels=gt_lab, class_order=class_order)


def compute_detection_map(ground_truth: Mapping, predictions: Mapping, num_classes: int,
                          tiou_thresholds=ANET_TIOU_THRESHOLDS,
                          score_order: str = 'official') -> dict:
    """Per-class interpolated AP, mAP per threshold and their average (official protocol).

    Args:
        ground_truth: ``{video_id: (segments (G, 2) seconds, labels (G,) int)}``.
        predictions: ``{video_id: (segments (P, 2) seconds, scores (P,), labels (P,) int)}``;
            videos absent from the GT only add false positives.
        num_classes: number of classes (labels in ``[0, num_classes)``).
        tiou_thresholds: (n_thr,), e.g. :data:`ANET_TIOU_THRESHOLDS` or
            :data:`THUMOS14_TIOU_THRESHOLDS`.
        score_order: ``'official'`` or ``'stable'`` (MMAction2), see :func:`match_detections`.

    Returns:
        ``dict(ap=(num_classes, n_thr) float64 (nan for classes without GT), mAP=(n_thr,),
        average_mAP=float, num_gt=(num_classes,) int)``.
    """
    thr = np.asarray(tiou_thresholds, dtype=np.float64).reshape(-1)
    m = match_detections(ground_truth, predictions, num_classes, thr, score_order)
    num_gt = np.bincount(m['gt_labels'], minlength=num_classes)
    if not num_gt.any():
        raise ValueError('ground truth has no instance: mAP is undefined')
    ap = np.full((num_classes, thr.size), np.nan)
    for c in range(num_classes):
        if num_gt[c] == 0:
            continue
        order = m['class_order'][c]
        if order.size == 0:
            ap[c] = 0.0
            continue
        tp = m['tp'][order].T                                      # (n_thr, N_c)
        tp_cum = np.cumsum(tp, axis=1).astype(np.float64)
        fp_cum = np.cumsum(~tp, axis=1).astype(np.float64)
        recall = tp_cum / float(num_gt[c])
        precision = tp_cum / (tp_cum + fp_cum)
        for t in range(thr.size):
            ap[c, t] = interpolated_average_precision(precision[t], recall[t])
    valid = num_gt > 0
    # (n_thr, n_valid) contiguous rows, averaged as the official ``ap.mean(axis=1)``
    mean_ap = np.ascontiguousarray(ap[valid].T).mean(axis=1)
    return dict(ap=ap, mAP=mean_ap, average_mAP=float(mean_ap.mean()), num_gt=num_gt)
