"""DETAD sensitivity (average-mAP_N per GT bucket) and false-negative rates per bucket."""
from __future__ import annotations

import numpy as np

from .normalized_ap import normalized_average_precision


def bucket_average_map_n(matched_gt: np.ndarray, class_order: list, gt_labels: np.ndarray,
                         gt_mask: np.ndarray, avg_pos: float) -> float:
    """Average-mAP_N when only the GT in ``gt_mask`` count as positives (DETAD).

    Per class with GT in the mask, a prediction is kept unless at some threshold it is the
    true positive of a GT outside the mask (DETAD drops it at every threshold then); the kept
    predictions' AP_N uses the in-mask GT count of the class and the dataset-wide ``N``. The
    class APs (averaged over thresholds) are averaged over the classes with GT in the mask.

    Args:
        matched_gt: (N, n_thr) int64 flat GT index or -1.
        class_order: per class, prediction indices best first.
        gt_labels: (M,) int class of each GT.
        gt_mask: (M,) bool.
        avg_pos: ``N``.

    Returns:
        float; ``nan`` when the mask holds no GT.
    """
    gt_mask = np.asarray(gt_mask, dtype=bool)
    npos = np.bincount(gt_labels[gt_mask], minlength=len(class_order))
    aps = []
    for c, order in enumerate(class_order):
        if npos[c] == 0:
            continue
        m = matched_gt[order]                                          # (P, n_thr)
        inside = np.where(m >= 0, gt_mask[np.maximum(m, 0)], True)
        kept = m[inside.all(axis=1)]
        aps.append(normalized_average_precision((kept >= 0).T if kept.size else
                                                np.zeros((m.shape[1], 0), bool),
                                                int(npos[c]), avg_pos).mean())
    return float(np.mean(aps)) if aps else float('nan')


def sensitivity_by_bucket(matched_gt: np.ndarray, class_order: list, gt_labels: np.ndarray,
                          bucket_ids: np.ndarray, num_buckets: int, avg_pos: float) -> np.ndarray:
    """(B,) average-mAP_N of each bucket (``nan`` for an empty one), see
    :func:`bucket_average_map_n`. ``bucket_ids``: (M,) int, -1 for GT outside every bucket."""
    return np.array([bucket_average_map_n(matched_gt, class_order, gt_labels,
                                          bucket_ids == b, avg_pos)
                     for b in range(num_buckets)])


def missed_ground_truth(matched_gt: np.ndarray, num_gt: int) -> np.ndarray:
    """(n_thr, M) bool: GT not matched by any prediction at each threshold."""
    matched_gt = np.asarray(matched_gt, dtype=np.int64)
    n_thr = matched_gt.shape[1] if matched_gt.ndim == 2 else 1
    mt = matched_gt.reshape(-1, n_thr)
    detected = np.zeros((n_thr, num_gt), dtype=bool)
    p_idx, t_idx = np.nonzero(mt >= 0)
    detected[t_idx, mt[p_idx, t_idx]] = True
    return ~detected


def false_negative_rates(missed: np.ndarray, bucket_ids: np.ndarray,
                         num_buckets: int) -> tuple[float, np.ndarray]:
    """Share of GT never detected, averaged over thresholds: overall and per bucket.

    Args:
        missed: (n_thr, M) bool from :func:`missed_ground_truth`.
        bucket_ids: (M,) int, -1 outside every bucket.
        num_buckets: B.

    Returns:
        ``overall`` float (over all M GT) and ``per_bucket`` (B,) float64 (``nan`` if empty).
    """
    missed = np.asarray(missed, dtype=bool)
    overall = float(missed.mean()) if missed.size else float('nan')
    rates = np.full(num_buckets, np.nan)
    for b in range(num_buckets):
        sel = bucket_ids == b
        if sel.any():
            rates[b] = missed[:, sel].mean(axis=1).mean()
    return overall, rates
