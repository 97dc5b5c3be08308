"""Detection mAP (ActivityNet and THUMOS14 protocols), vectorised.

Same numbers as the official ActivityNet detection evaluator
(``Evaluation/eval_detection.py::compute_average_precision_detection`` + ``utils.interpolated_prec_rec``):

* per class, predictions are ranked by ``np.argsort(scores)[::-1]`` over that class's predictions
  in input order (videos in dict order, items in order); ``score_order='stable'`` gives
  MMAction2's ``ActivityNetLocalization`` order (stable sort by descending score) instead;
* a prediction is compared with the GTs *of its class in its video*, visited in
  ``np.argsort(iou)[::-1]`` order: at each threshold it takes the first GT with IoU >= t that is
  not yet taken (true positive) and is a false positive otherwise; a video without GT of that
  class makes it a false positive at every threshold;
* IoU in float64 (a zero union, e.g. two zero-length segments, is a match at every
  threshold, as the official 0/0 = NaN is); ``precision = tp / (tp + fp)``, ``recall = tp / num_gt`` from float64 cumulative
  sums, and VOC-2011 interpolated AP (``[0, p, 0]`` / ``[0, r, 1]`` padding, precision made
  monotone from the right, sum over recall changes);
* a class with GT but no prediction has AP 0; the mean is over the classes that have GT (the
  official class list is the set of GT labels), so classes without GT get ``nan`` in ``ap``.

The greedy matching is sequential only *within* a (class, video) group: the k-th prediction
of every group is matched in one numpy step, for all thresholds at once.
"""
from __future__ import annotations

import operator
from typing import Mapping

import numpy as np

from .detection_kernels import class_aps, greedy_match
from .video_columns import VideoColumns

#: ActivityNet detection tIoU thresholds (0.5:0.05:0.95, the official ``np.linspace``).
ANET_TIOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
#: THUMOS14 thresholds 0.3:0.1:0.7 as the exact decimals 0.3, 0.4, 0.5, 0.6, 0.7 (not the
#: ``np.arange`` values 0.6000000000000001 / 0.7000000000000001 that MMAction2's SSN uses).
THUMOS14_TIOU_THRESHOLDS = np.array([0.3, 0.4, 0.5, 0.6, 0.7])
PROTOCOL_TIOU_THRESHOLDS = {'anet': ANET_TIOU_THRESHOLDS, 'thumos14': THUMOS14_TIOU_THRESHOLDS}


def interpolated_average_precision(precision: np.ndarray, recall: np.ndarray) -> float:
    """VOC-2011 interpolated AP of one precision/recall curve ((N,) each, in rank order)."""
    return float(interpolated_average_precisions(np.asarray(precision, np.float64)[None],
                                                 np.asarray(recall, np.float64)[None])[0])


def interpolated_average_precisions(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """VOC-2011 interpolated AP of each row's precision/recall curve, (T, N) each (in rank
    order) -> (T,) float64.

    Precision padded with 0 on both ends and made non-increasing from the right, recall
    padded with 0 and 1; per row, ``np.sum`` of ``Δrecall * precision`` over the points
    where recall changes, the terms in rank order (the official code's sum).
    """
    precision = np.asarray(precision, np.float64)
    recall = np.asarray(recall, np.float64)
    n_rows, n = precision.shape
    mprec = np.zeros((n_rows, n + 2))
    mprec[:, 1:-1] = precision
    mprec = np.maximum.accumulate(mprec[:, ::-1], axis=1)[:, ::-1]
    mrec = np.zeros((n_rows, n + 2))
    mrec[:, 1:-1] = recall
    mrec[:, -1] = 1.0
    changed = mrec[:, 1:] != mrec[:, :-1]                          # (T, N + 1)
    terms = (mrec[:, 1:] - mrec[:, :-1]) * mprec[:, 1:]
    return np.array([float(np.sum(terms[t][changed[t]])) for t in range(n_rows)])


def _official_iou_rows(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """IoU of each prediction with its own GTs, batched, ``+inf`` where the union is 0.

    The official ``segment_iou`` divides 0 by 0 there (e.g. two zero-length segments); the
    NaN sorts first in its visiting order and passes every ``iou < t`` test, so such a pair
    is a match at every threshold. ``+inf`` reproduces both effects.

    Args:
        pred: (n, 2) segments. gt: (n, g, 2) the GTs row ``i`` is compared with.

    Returns:
        (n, g) float64, element for element the operations of
        :func:`~mmloc.structures.segment_ops.pairwise_temporal_iou` (so bit-identical).
    """
    lo = np.maximum(pred[:, None, 0], gt[..., 0])
    hi = np.minimum(pred[:, None, 1], gt[..., 1])
    inter = np.clip(hi - lo, 0.0, None)
    union = (pred[:, 1] - pred[:, 0])[:, None] + (gt[..., 1] - gt[..., 0]) - inter
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    iou[union == 0] = np.inf
    return iou


def _flatten_arrays(values: list, n_fields: int):
    """``(sizes, columns)`` of :func:`_flatten` when every value already is a tuple / list
    of numpy arrays of the right shapes (segments (P, 2) float64, the others (P,)): one
    ``np.concatenate`` per field, no per-video conversion. None otherwise."""
    # set(map(...)) and zip(*...): C-level passes, no Python call per video
    if not values or set(map(type, values)) - {tuple, list} or set(map(len, values)) != {n_fields}:
        return None
    cols = list(zip(*values))
    if any(set(map(type, col)) != {np.ndarray} for col in cols):
        return None
    if set(map(operator.attrgetter('dtype'), cols[0])) != {np.dtype(np.float64)}:
        return None
    try:
        sizes = list(map(len, cols[0]))
        if any(list(map(len, col)) != sizes for col in cols[1:]):
            return None
    except TypeError:   # a 0-d array
        return None
    try:   # equal trailing shapes are np.concatenate's own check
        out = [np.concatenate(col) for col in cols]
    except ValueError:
        return None
    if out[0].ndim != 2 or out[0].shape[1] != 2 or any(a.ndim != 1 for a in out[1:]):
        return None
    return sizes, out


def _columns_as_given(mapping, n_fields: int) -> list | None:
    """The columns of a :class:`VideoColumns` of the right shapes (segments (N, 2)
    float64, the other fields 1-D), as they are; None otherwise."""
    if not isinstance(mapping, VideoColumns) or len(mapping.columns) != n_fields:
        return None
    seg, *rest = mapping.columns
    if seg.ndim != 2 or seg.shape[1] != 2 or seg.dtype != np.float64 \
            or any(col.ndim != 1 for col in rest):
        return None
    return list(mapping.columns)


def _flatten(mapping: Mapping, n_fields: int, what: str):
    """``([(video, count)], [field arrays concatenated over videos])``, segments (N, 2)."""
    given = _columns_as_given(mapping, n_fields)
    if given is not None:
        return list(zip(mapping.videos, mapping.sizes.tolist())), given
    fast = _flatten_arrays(list(mapping.values()), n_fields)
    if fast is not None:
        return list(zip(mapping, fast[0])), fast[1]
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


def as_video_columns(mapping: Mapping, n_fields: int, what: str = 'values') -> VideoColumns:
    """``{video: tuple of n_fields arrays}`` (checked and converted as
    :func:`match_detections` reads it: segments (P, 2) float64, the others (P,)) as a
    :class:`VideoColumns` with the same items."""
    videos, columns = _flatten(mapping, n_fields, what)
    return VideoColumns([v for v, _ in videos], [n for _, n in videos], columns)


def _class_order(scores: np.ndarray, labels: np.ndarray, num_classes: int,
                 score_order: str) -> list[np.ndarray]:
    """Per class, the prediction indices in ranking order (best first)."""
    orders = []
    # input order inside each class; a stable sort is one permutation whatever the dtype,
    # and numpy radix-sorts 16-bit keys (much faster than merging int64)
    keys = labels.astype(np.int16) if num_classes <= np.iinfo(np.int16).max else labels
    by_label = np.argsort(keys, kind='stable')
    bounds = np.searchsorted(labels[by_label], np.arange(num_classes + 1))
    for c in range(num_classes):
        idx = by_label[bounds[c]:bounds[c + 1]]
        if score_order == 'official':
            orders.append(idx[np.argsort(scores[idx])[::-1]])
        else:
            orders.append(idx[np.argsort(-scores[idx], kind='stable')])
    return orders


def _group_ranges(sorted_keys: np.ndarray, keys: np.ndarray, key_space: int,
                  max_table: int = 1 << 26) -> tuple[np.ndarray, np.ndarray]:
    """``(searchsorted(sorted_keys, keys, 'left'), count of each key in sorted_keys)``.

    Args:
        sorted_keys: (M,) sorted int64 keys in ``[0, key_space)``. keys: (N,) int64 queries.

    A dense table over the key space when it is small (one gather per query instead of
    two binary searches): the left insertion point of ``k`` is the number of keys ``< k``,
    the exclusive cumulative count, so both are the searchsorted values exactly.
    """
    if key_space <= max_table:
        count = np.bincount(sorted_keys, minlength=key_space)
        below = np.cumsum(count) - count
        return below[keys], count[keys]
    lo = np.searchsorted(sorted_keys, keys, side='left')
    return lo, np.searchsorted(sorted_keys, keys, side='right') - lo


def match_detections(ground_truth: Mapping, predictions: Mapping, num_classes: int,
                     tiou_thresholds=ANET_TIOU_THRESHOLDS, score_order: str = 'official',
                     with_matched_gt: bool = True) -> dict:
    """Greedy official matching of every prediction at every threshold.

    Args:
        ground_truth: ``{video_id: (segments (G, 2) s, labels (G,) int)}``.
        predictions: ``{video_id: (segments (P, 2) s, scores (P,), labels (P,) int)}``.
            Either may be a :class:`VideoColumns` (read without re-concatenating).
        num_classes: labels must lie in ``[0, num_classes)``.
        tiou_thresholds: (n_thr,) thresholds.
        score_order: ``'official'`` (numpy argsort reversed) or ``'stable'`` (MMAction2).
        with_matched_gt: False leaves ``matched_gt`` out (None): AP only needs ``tp``.

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

    # Video index shared by GT and predictions (one per id, in order of first appearance).
    vid_index: dict = {}
    for vid, _ in gt_videos + pr_videos:
        vid_index.setdefault(vid, len(vid_index))
    n_vid = len(vid_index)
    gt_vid = np.repeat([vid_index[v] for v, _ in gt_videos], [n for _, n in gt_videos]).astype(np.int64)
    pr_vid = np.repeat([vid_index[v] for v, _ in pr_videos], [n for _, n in pr_videos]).astype(np.int64)

    class_order = _class_order(pr_score, pr_lab, num_classes, score_order)

    # (class, video) groups of GT, in GT order inside each group (the official ``this_gt``).
    gt_key = gt_lab * n_vid + gt_vid
    gt_sorted = np.argsort(gt_key, kind='stable')
    sorted_keys = gt_key[gt_sorted]
    pr_key = pr_lab * n_vid + pr_vid
    grp_lo, grp_size = _group_ranges(sorted_keys, pr_key, num_classes * n_vid)

    tp = np.zeros((pr_lab.size, n_thr), dtype=bool)
    matched_gt = np.full((pr_lab.size, n_thr), -1, dtype=np.int64) if with_matched_gt else None
    if not greedy_match(class_order, pr_seg, gt_seg, gt_sorted, grp_lo, grp_size, thr, tp,
                        matched_gt):   # compiled, same result; numpy below otherwise
        _match_in_steps(class_order, pr_seg, gt_seg, gt_sorted, grp_lo, grp_size, thr, tp,
                        matched_gt)
    return dict(tp=tp, matched_gt=matched_gt, pred_scores=pr_score, pred_labels=pr_lab,
                gt_labels=gt_lab, class_order=class_order)


def _match_in_steps(class_order: list, pr_seg: np.ndarray, gt_seg: np.ndarray,
                    gt_sorted: np.ndarray, grp_lo: np.ndarray, grp_size: np.ndarray,
                    thr: np.ndarray, tp: np.ndarray, matched_gt: np.ndarray | None) -> None:
    """:func:`~.detection_kernels.greedy_match` (same arguments) in numpy: the k-th ranked
    prediction of every group matched in one step, for all thresholds at once."""
    n_pred, n_thr = tp.shape
    with_matched_gt = matched_gt is not None
    rank_in_class = np.empty(n_pred, np.int64)
    for idx in class_order:
        rank_in_class[idx] = np.arange(idx.size)
    for g_size in np.unique(grp_size[grp_size > 0]):
        members = np.flatnonzero(grp_size == g_size)
        # GT indices and IoU rows (n_b, g_size) of each member prediction
        gt_idx = gt_sorted[grp_lo[members][:, None] + np.arange(g_size)[None, :]]
        # IoU with the GTs of its group only (not the whole video's matrix); np.take, as
        # a fancy index of rows is many times slower
        rows = _official_iou_rows(np.take(pr_seg, members, axis=0),
                                  np.take(gt_seg, gt_idx, axis=0))
        # a prediction below the lowest threshold with every GT of its group is a false
        # positive that takes nothing: it does not change any other prediction's match
        reach = (rows >= thr.min()).any(axis=1)
        if not reach.any():
            continue
        members, gt_idx, rows = members[reach], gt_idx[reach], rows[reach]
        # position of each GT in the official visiting order argsort(iou)[::-1]
        order = np.argsort(rows, axis=1)[:, ::-1]
        visit_rank = np.empty_like(order)
        np.put_along_axis(visit_rank, order, np.arange(g_size)[None, :].repeat(len(members), 0),
                          axis=1)
        # sequential steps: the r-th ranked prediction of every group at once. A group is
        # named by its first GT (grp_lo), ranks are unique in a class: one int64 key sorts
        # by (group, rank), then groups get dense numbers in that order.
        seq = np.argsort(grp_lo[members] * n_pred + rank_in_class[members])
        new_group = np.r_[0, np.diff(grp_lo[members][seq]) != 0]
        grp_sorted = np.cumsum(new_group)
        grp_of = np.empty_like(grp_sorted)
        grp_of[seq] = grp_sorted
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
            if with_matched_gt:
                matched_gt[members[loc]] = np.where(
                    hit, gt_idx[loc][np.arange(loc.size)[:, None], choice], -1)


def _class_aps_numpy(tp: np.ndarray, class_order: list, num_gt: np.ndarray,
                     ap: np.ndarray) -> None:
    """:func:`~.detection_kernels.class_aps` in numpy: ``ap[c]`` of each class with GT and
    predictions."""
    for c, order in enumerate(class_order):
        if num_gt[c] == 0 or order.size == 0:
            continue
        # integer counts (exact in any order): cumsum down the contiguous (N_c, n_thr)
        # rows, and tp + fp = rank + 1, so precision divides by the rank
        tp_cum = np.cumsum(tp[order], axis=0).T.astype(np.float64)   # (n_thr, N_c)
        recall = tp_cum / float(num_gt[c])
        precision = tp_cum / np.arange(1, order.size + 1, dtype=np.float64)
        ap[c] = interpolated_average_precisions(precision, recall)


def compute_detection_map(ground_truth: Mapping, predictions: Mapping, num_classes: int,
                          tiou_thresholds=ANET_TIOU_THRESHOLDS,
                          score_order: str = 'official') -> dict:
    """Per-class interpolated AP, mAP per threshold and their average (official protocol).

    Args:
        ground_truth: ``{video_id: (segments (G, 2) seconds, labels (G,) int)}``.
        predictions: ``{video_id: (segments (P, 2) seconds, scores (P,), labels (P,) int)}``;
            videos absent from the GT only add false positives. Either may be a
            :class:`VideoColumns` (what :func:`load_detection_files` returns).
        num_classes: number of classes (labels in ``[0, num_classes)``).
        tiou_thresholds: (n_thr,), e.g. :data:`ANET_TIOU_THRESHOLDS` or
            :data:`THUMOS14_TIOU_THRESHOLDS`.
        score_order: ``'official'`` or ``'stable'`` (MMAction2), see :func:`match_detections`.

    Returns:
        ``dict(ap=(num_classes, n_thr) float64 (nan for classes without GT), mAP=(n_thr,),
        average_mAP=float, num_gt=(num_classes,) int)``.
    """
    thr = np.asarray(tiou_thresholds, dtype=np.float64).reshape(-1)
    m = match_detections(ground_truth, predictions, num_classes, thr, score_order,
                         with_matched_gt=False)
    num_gt = np.bincount(m['gt_labels'], minlength=num_classes)
    if not num_gt.any():
        raise ValueError('ground truth has no instance: mAP is undefined')
    ap = np.full((num_classes, thr.size), np.nan)
    if not class_aps(m['tp'], m['class_order'], num_gt, ap):   # compiled, same bits
        _class_aps_numpy(m['tp'], m['class_order'], num_gt, ap)
    sizes = np.fromiter(map(len, m['class_order']), np.int64, num_classes)
    ap[(num_gt > 0) & (sizes == 0)] = 0.0   # GT but no prediction
    valid = num_gt > 0
    # (n_thr, n_valid) contiguous rows, averaged as the official ``ap.mean(axis=1)``
    mean_ap = np.ascontiguousarray(ap[valid].T).mean(axis=1)
    return dict(ap=ap, mAP=mean_ap, average_mAP=float(mean_ap.mean()), num_gt=num_gt)
