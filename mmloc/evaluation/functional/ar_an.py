"""Average recall vs. average number of proposals (AR@AN), vectorised.

Same numbers as the official ActivityNet proposal evaluator
(``Evaluation/eval_proposal.py::average_recall_vs_avg_nr_proposals``):

* the video set is the GT videos that have at least one instance, in the given order;
* ``ratio = max_avg * V / total_proposals`` where ``total_proposals`` counts every
  proposal passed in, also those of videos that have no GT;
* per video the top ``k_v = min(int(P_v * ratio), P_v)`` proposals by score
  (``np.argsort(scores)[::-1]``, as the official code) are retrieved;
* a GT video without proposals (or with ``k_v = 0``) contributes zero recall and no
  retrieved proposals;
* ``pcn = arange(1, 101) / 100 * (max_avg * V / retrieved)`` and at point ``j`` video ``v``
  uses its first ``min(int(k_v * pcn_j), k_v)`` proposals (float product, then truncation);
* IoU in float64 (``iou_dtype='float32'`` gives MMAction2's float32 IoU storage, where an IoU
  of exactly 0.7 becomes 0.69999999 and misses the 0.7 threshold).

The official code loops over videos, thresholds and the 100 points in Python. Here a GT
row's *first hit* (the index of its first proposal, in score order, with IoU >= t) is
computed once per threshold; a row is matched at point ``j`` iff ``first_hit < n_{v,j}``.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from mmloc.structures.segment_ops import pairwise_temporal_iou
from mmloc.utils.progress import track

#: tIoU thresholds of the ActivityNet proposal task (0.5:0.05:0.95).
ANET_PROPOSAL_TIOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)

#: Column of the recall curve that gives AR@1/5/10/100 when ``max_avg_proposals=100``
#: (MMAction2's ``ANetMetric`` keys).
AR_AT_INDEX = {'AR@1': 0, 'AR@5': 4, 'AR@10': 9, 'AR@100': 99}


def _proposal_arrays(value, video_id) -> tuple[np.ndarray, np.ndarray]:
    """``(segments (P, 2) float64, scores (P,) float64)`` from a (P, >=3) array or a pair."""
    if isinstance(value, tuple) and len(value) == 2:
        segments = np.asarray(value[0], dtype=np.float64).reshape(-1, 2)
        scores = np.asarray(value[1], dtype=np.float64).reshape(-1)
    else:
        arr = np.asarray(value, dtype=np.float64)
        if arr.size == 0:
            return np.zeros((0, 2)), np.zeros(0)
        if arr.ndim != 2 or arr.shape[1] < 3:
            raise ValueError(f'video {video_id}: proposals must be (P, 3) rows of '
                             f'[start, end, score], got shape {arr.shape}')
        segments, scores = arr[:, :2], arr[:, 2]
    if segments.shape[0] != scores.shape[0]:
        raise ValueError(f'video {video_id}: {segments.shape[0]} segments but '
                         f'{scores.shape[0]} scores')
    return segments, scores


def _gt_array(value, video_id) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 2))
    if arr.ndim == 1 and arr.shape[0] == 2:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise ValueError(f'video {video_id}: GT must be (G, 2) [start, end], got {arr.shape}')
    return arr[:, :2]


def _iou(proposals: np.ndarray, gts: np.ndarray, iou_dtype: str) -> np.ndarray:
    """(G, k) IoU of GTs x proposals in the requested storage precision."""
    if iou_dtype == 'float64':
        return pairwise_temporal_iou(gts, proposals)
    # MMAction2: float32 segments and a float32 result array.
    return pairwise_temporal_iou(gts.astype(np.float32),
                                 proposals.astype(np.float32)).astype(np.float32)


def average_recall_at_avg_proposals(
        ground_truth: Mapping,
        proposals: Mapping,
        max_avg_proposals: float | None = 100,
        temporal_iou_thresholds=ANET_PROPOSAL_TIOU_THRESHOLDS,
        total_num_proposals: int | None = None,
        iou_dtype: str = 'float64') -> dict:
    """AR@AN curve and AUC, as the official ActivityNet proposal evaluator.

    Args:
        ground_truth: ``{video_id: (G, 2) [start_s, end_s]}`` (extra columns are ignored).
            Videos with G = 0 are not part of the evaluation (official behaviour).
        proposals: ``{video_id: (P, 3) [start_s, end_s, score]}`` or
            ``{video_id: (segments (P, 2), scores (P,))}``. Videos without GT still count
            in ``total_num_proposals``.
        max_avg_proposals: AN at the end of the curve (100 for ActivityNet); ``None``/0 means
            ``total_num_proposals / V``.
        temporal_iou_thresholds: (n_thr,) tIoU thresholds, each > 0.
        total_num_proposals: defaults to the number of proposals passed in.
        iou_dtype: ``'float64'`` (official) or ``'float32'`` (MMAction2).

    Returns:
        dict with ``recall`` (n_thr, 100), ``avg_recall`` (100,), ``proposals_per_video``
        (100,) (the AN axis), ``auc`` (percent), ``AR@1``/``AR@5``/``AR@10``/``AR@100``
        (fractions, columns 0/4/9/99 as MMAction2), ``num_videos`` and ``num_retrieved``.
    """
    if iou_dtype not in ('float64', 'float32'):
        raise ValueError(f"iou_dtype must be 'float64' or 'float32', got {iou_dtype!r}")
    thresholds = np.asarray(temporal_iou_thresholds, dtype=np.float64).reshape(-1)
    if thresholds.size == 0 or np.any(thresholds <= 0):
        raise ValueError(f'temporal_iou_thresholds must be non-empty and > 0, got {thresholds}')

    gts = {vid: _gt_array(g, vid) for vid, g in ground_truth.items()}
    video_ids = [vid for vid, g in gts.items() if g.shape[0] > 0]
    num_videos = len(video_ids)
    if num_videos == 0:
        raise ValueError('ground truth has no video with at least one instance')
    props = {vid: _proposal_arrays(p, vid) for vid, p in proposals.items()}
    if total_num_proposals is None:
        total_num_proposals = sum(s.shape[0] for s, _ in props.values())
    if total_num_proposals <= 0:
        raise ValueError('no proposals to evaluate (total number of proposals is 0)')
    if not max_avg_proposals:
        max_avg_proposals = float(total_num_proposals) / num_videos
    ratio = max_avg_proposals * float(num_videos) / total_num_proposals

    # Per video: retrieved count k_v and the first-hit index of each GT row per threshold.
    num_gt = np.empty(num_videos, dtype=np.int64)
    num_kept = np.zeros(num_videos, dtype=np.int64)
    first_hits = []
    no_hit = np.iinfo(np.int64).max
    for i, vid in enumerate(track(video_ids, desc='AR@AN: matching proposals per video')):
        gt = gts[vid]
        num_gt[i] = gt.shape[0]
        first = np.full((gt.shape[0], thresholds.size), no_hit, dtype=np.int64)
        if vid in props and props[vid][0].shape[0] > 0:
            segments, scores = props[vid]
            n_prop = segments.shape[0]
            k = min(int(n_prop * ratio), n_prop)
            num_kept[i] = k
            if k > 0:
                order = np.argsort(scores)[::-1][:k]
                iou = _iou(segments[order], gt, iou_dtype)               # (G, k)
                hit = iou[:, None, :] >= thresholds[None, :, None]       # (G, n_thr, k)
                any_hit = hit.any(axis=2)
                first = np.where(any_hit, hit.argmax(axis=2), no_hit)
        first_hits.append(first)

    retrieved = int(num_kept.sum())
    if retrieved == 0:
        raise ValueError('no proposal was retrieved for any GT video '
                         '(do the proposal video ids match the GT ids?)')
    pcn = np.arange(1, 101) / 100.0 * (max_avg_proposals * float(num_videos) / retrieved)
    # n[v, j] = min(int(k_v * pcn_j), k_v): float product then truncation, as the official code.
    n_used = np.minimum((num_kept[:, None] * pcn[None, :]).astype(np.int64), num_kept[:, None])

    first_all = np.concatenate(first_hits, axis=0)                       # (N_gt, n_thr)
    n_per_row = np.repeat(n_used, num_gt, axis=0)                        # (N_gt, 100)
    recall = np.empty((thresholds.size, pcn.size))
    total_gt = float(num_gt.sum())
    for t in range(thresholds.size):
        matched = (first_all[:, t][:, None] < n_per_row).sum(axis=0)
        recall[t] = matched / total_gt
    avg_recall = recall.mean(axis=0)
    proposals_per_video = pcn * (float(retrieved) / num_videos)
    auc = float(100.0 * float(np.trapezoid(avg_recall, proposals_per_video))
                / proposals_per_video[-1])

    out = dict(recall=recall, avg_recall=avg_recall, proposals_per_video=proposals_per_video,
               auc=auc, num_videos=num_videos, num_retrieved=retrieved)
    for key, col in AR_AT_INDEX.items():
        out[key] = float(np.mean(recall[:, col]))
    return out
