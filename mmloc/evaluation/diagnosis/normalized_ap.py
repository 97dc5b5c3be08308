"""DETAD's normalised average precision (AP_N).

Precision depends on how many positives a class has, so AP is not comparable across classes or
GT subsets of different sizes. DETAD replaces the number of positives ``N_c`` of the class in
the precision by ``N``, the average number of positives per class over the whole dataset::

    recall_k = TP_k / N_c
    precision_N,k = recall_k * N / (recall_k * N + FP_k)

and then takes the usual interpolated AP of (precision_N, recall). With ``N = N_c`` this is the
ordinary precision ``TP / (TP + FP)``.
"""
from __future__ import annotations

import numpy as np

from ..functional.detection_map import interpolated_average_precisions


def average_positives_per_class(num_gt: np.ndarray) -> float:
    """``N``: GT instances per class, averaged over the classes that have GT (float)."""
    num_gt = np.asarray(num_gt).reshape(-1)
    valid = num_gt > 0
    if not valid.any():
        raise ValueError('no class has ground truth: the average number of positives is undefined')
    return float(num_gt[valid].sum()) / float(valid.sum())


def normalized_precision_recall(tp: np.ndarray, num_pos: int, avg_pos: float | None):
    """Cumulative recall and normalised precision of ranked predictions.

    Args:
        tp: (n_thr, P) bool, true positive of each prediction (best first) per threshold.
        num_pos: number of GT of the class (``N_c`` > 0).
        avg_pos: ``N``; ``None`` gives the ordinary precision (``N = N_c``).

    Returns:
        ``precision`` (n_thr, P), ``recall`` (n_thr, P), float64.
    """
    tp = np.atleast_2d(np.asarray(tp, dtype=bool))
    tp_cum = np.cumsum(tp, axis=1, dtype=np.float64)
    fp_cum = np.cumsum(~tp, axis=1, dtype=np.float64)
    recall = tp_cum / float(num_pos)
    n = float(num_pos if avg_pos is None else avg_pos)
    # every prefix holds at least one prediction, so the denominator is > 0
    precision = recall * n / (recall * n + fp_cum)
    return precision, recall


def normalized_average_precision(tp: np.ndarray, num_pos: int,
                                 avg_pos: float | None) -> np.ndarray:
    """AP_N per threshold of one class.

    Args:
        tp: (n_thr, P) bool in rank order (best first); P may be 0.
        num_pos: ``N_c``, the number of GT of the class; 0 gives ``nan``.
        avg_pos: ``N`` (see module doc); ``None`` gives the official AP.

    Returns:
        (n_thr,) float64.
    """
    tp = np.asarray(tp, dtype=bool)
    if tp.ndim == 1:
        tp = tp[None]
    n_thr = tp.shape[0]
    if num_pos <= 0:
        return np.full(n_thr, np.nan)
    if tp.shape[1] == 0:
        return np.zeros(n_thr)
    precision, recall = normalized_precision_recall(tp, num_pos, avg_pos)
    return interpolated_average_precisions(precision, recall)


def discard_low_precision(matched_gt: np.ndarray, class_order: list, num_gt: np.ndarray,
                          avg_pos: float, min_precision: float) -> np.ndarray:
    """Unmatch predictions ranked where the normalised precision is <= ``min_precision``.

    DETAD's false-negative analysis counts a GT as detected only by a prediction ranked where
    AP_N's precision is still above 0.05 (``minimum_normalized_precision_threshold_for_detection``).
    The locks of the greedy matching are not redone, as in DETAD.

    Args:
        matched_gt: (N, n_thr) int64, flat GT index or -1 (``match_detections``).
        class_order: per class, prediction indices best first.
        num_gt: (C,) GT count per class.
        avg_pos: ``N``.
        min_precision: threshold; ``<= 0`` changes nothing.

    Returns:
        (N, n_thr) int64 copy.
    """
    out = np.array(matched_gt, dtype=np.int64, copy=True)
    if min_precision <= 0:
        return out
    for c, order in enumerate(class_order):
        if num_gt[c] == 0 or len(order) == 0:
            continue
        tp = (out[order] >= 0).T                                    # (n_thr, P)
        precision, _ = normalized_precision_recall(tp, int(num_gt[c]), avg_pos)
        drop = (precision <= min_precision).T                       # (P, n_thr)
        rows = out[order]
        rows[drop] = -1
        out[order] = rows
    return out
