"""DETAD false-positive analysis: error categories, the top-kG profile and the mAP_N gain of
removing each error type.

Categories of a prediction at threshold ``alpha`` (DETAD §3.1; ``min_tiou`` = 0.1):

* **true positive**: the official greedy matching gave it a GT at ``alpha``;
* otherwise take the GT of *any* class in its video with the highest tIoU (first in GT order
  on ties) and its label:

  ========================  ========================  ======================
  highest tIoU              same label                other label
  ========================  ========================  ======================
  ``>= alpha``              double detection          wrong label
  ``[min_tiou, alpha)``     localization error        confusion error
  ``< min_tiou``            background error          background error
  ========================  ========================  ======================

  A video without GT makes it a background error.

For proposals (one class) "wrong label" and "confusion" cannot occur.
"""
from __future__ import annotations

import numpy as np

from .normalized_ap import normalized_average_precision

#: Category keys, code = position.
FP_CATEGORIES = ('true_positive', 'double_detection', 'wrong_label', 'localization',
                 'confusion', 'background')
#: Human-readable names for figures.
FP_CATEGORY_NAMES = {
    'true_positive': 'True positive',
    'double_detection': 'Double detection',
    'wrong_label': 'Wrong label',
    'localization': 'Localization error',
    'confusion': 'Confusion (label + loc.)',
    'background': 'Background',
}
#: Categories that exist for class-agnostic proposals.
PROPOSAL_FP_CATEGORIES = ('true_positive', 'double_detection', 'localization', 'background')


def classify_detections(matched_gt: np.ndarray, top_iou: np.ndarray, top_label_same: np.ndarray,
                        tiou_thresholds, min_tiou: float = 0.1) -> np.ndarray:
    """Category code of every prediction at every threshold.

    Args:
        matched_gt: (N, n_thr) int, GT matched by the official matching, -1 when none.
        top_iou: (N,) highest tIoU with any GT of the video (``nan``: video without GT).
        top_label_same: (N,) bool, that GT has the prediction's label.
        tiou_thresholds: (n_thr,) ``alpha`` values.
        min_tiou: lower tIoU bound of localization/confusion errors.

    Returns:
        (N, n_thr) int8, index into :data:`FP_CATEGORIES`.
    """
    thr = np.asarray(tiou_thresholds, dtype=np.float64).reshape(1, -1)
    matched_gt = np.asarray(matched_gt).reshape(-1, thr.shape[1])
    iou = np.asarray(top_iou, dtype=np.float64).reshape(-1, 1)
    same = np.asarray(top_label_same, dtype=bool).reshape(-1, 1)
    high = iou >= thr                                   # nan compares False: background
    mid = (iou >= min_tiou) & ~high
    codes = np.full(matched_gt.shape, FP_CATEGORIES.index('background'), dtype=np.int8)
    codes[high & same] = FP_CATEGORIES.index('double_detection')
    codes[high & ~same] = FP_CATEGORIES.index('wrong_label')
    codes[mid & same] = FP_CATEGORIES.index('localization')
    codes[mid & ~same] = FP_CATEGORIES.index('confusion')
    codes[matched_gt >= 0] = FP_CATEGORIES.index('true_positive')
    return codes


def _top_ranked(order: np.ndarray, num_gt_c: int, limit_factor: float) -> np.ndarray:
    # DETAD keeps int(N_c * limit_factor) predictions of each class
    return order[:int(num_gt_c * limit_factor)]


def false_positive_profile(codes: np.ndarray, class_order: list, num_gt: np.ndarray,
                           limit_factor: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Category shares among predictions ranked ``((k-1) G, k G]`` in their class, k = 1..K.

    ``G`` is the class's GT count. Predictions of all classes with GT are pooled per k; the
    shares of each threshold are averaged (DETAD's ``avg`` column).

    Args:
        codes: (N, n_thr) from :func:`classify_detections`.
        class_order: per class, prediction indices best first.
        num_gt: (C,) GT count per class.
        limit_factor: K.

    Returns:
        ``shares`` (K, 6) float64 (rows sum to 1; ``nan`` for an empty group) and
        ``group_sizes`` (K,) int64.
    """
    n_cat = len(FP_CATEGORIES)
    counts = np.zeros((limit_factor, n_cat))
    sizes = np.zeros(limit_factor, dtype=np.int64)
    n_thr = codes.shape[1]
    for c, order in enumerate(class_order):
        g = int(num_gt[c])
        if g == 0 or len(order) == 0:
            continue
        top = _top_ranked(order, g, limit_factor)
        group = np.arange(top.size) // g                              # (P,) in [0, K)
        sizes += np.bincount(group, minlength=limit_factor)
        flat = group[:, None] * n_cat + codes[top].astype(np.int64)   # (P, n_thr)
        counts += np.bincount(flat.ravel(), minlength=limit_factor * n_cat).reshape(
            limit_factor, n_cat) / n_thr
    with np.errstate(divide='ignore', invalid='ignore'):
        shares = counts / sizes[:, None]
    shares[sizes == 0] = np.nan
    return shares, sizes


def error_removal_gain(codes: np.ndarray, class_order: list, num_gt: np.ndarray,
                       avg_pos: float, limit_factor: int = 10) -> dict:
    """Average-mAP_N of the top ``limit_factor * G`` predictions per class, and its gain when the
    predictions of one error category are removed (DETAD's "removing error impact").

    Args:
        codes: (N, n_thr) from :func:`classify_detections`.
        class_order: per class, prediction indices best first.
        num_gt: (C,) GT count per class.
        avg_pos: ``N`` of AP_N.
        limit_factor: K.

    Returns:
        ``dict(average_mAP_N=float, ap_N=(C, n_thr) (nan for classes without GT),
        gain={category: float})`` for the five error categories.
    """
    n_thr = codes.shape[1]
    errors = FP_CATEGORIES[1:]
    base = np.full((len(class_order), n_thr), np.nan)
    removed = {e: np.full((len(class_order), n_thr), np.nan) for e in errors}
    for c, order in enumerate(class_order):
        g = int(num_gt[c])
        if g == 0:
            continue
        kind = codes[_top_ranked(order, g, limit_factor)].T                 # (n_thr, P)
        tp = kind == 0
        base[c] = normalized_average_precision(tp, g, avg_pos)
        for e in errors:
            code = FP_CATEGORIES.index(e)
            for t in range(n_thr):
                keep = kind[t] != code
                removed[e][c, t] = normalized_average_precision(tp[t, keep][None], g, avg_pos)[0]
    valid = np.asarray(num_gt) > 0
    base_mean = float(base[valid].mean())
    gain = {e: float(removed[e][valid].mean()) - base_mean for e in errors}
    return dict(average_mAP_N=base_mean, ap_N=base, gain=gain)
