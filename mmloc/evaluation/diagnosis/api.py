"""One-call DETAD diagnosis of detections (or class-agnostic proposals).

:func:`diagnose` works on arrays (``{video: (segments, [scores,] labels)}``) and returns a
JSON-ready summary; :func:`diagnose_files` reads our/official result files and any GT layout
that :func:`mmloc.evaluation.formats.read_ground_truth` knows.

Protocol defaults (DETAD's scripts): ``anet`` analyses tIoU 0.5:0.05:0.95 with the
ActivityNet buckets, ``thumos14`` analyses tIoU 0.5 only with the THUMOS14 buckets
(DETAD's choice; pass ``tiou_thresholds`` for 0.3:0.1:0.7).
"""
from __future__ import annotations

import math
import warnings
from typing import Iterable, Mapping

import numpy as np

from ..formats import DETAD_CHARACTERISTIC_FIELDS
from ..functional.detection_map import (ANET_TIOU_THRESHOLDS, compute_detection_map,
                                        match_detections)
from .characteristics import BUCKETS, CHARACTERISTICS, bucketize, instance_characteristics
from .false_positives import (FP_CATEGORIES, PROPOSAL_FP_CATEGORIES, classify_detections,
                              error_removal_gain, false_positive_profile)
from .matching import flatten_ground_truth, flatten_predictions, top_gt_overlap
from .normalized_ap import average_positives_per_class, discard_low_precision
from .sensitivity import false_negative_rates, missed_ground_truth, sensitivity_by_bucket

#: DETAD's false-negative analysis counts predictions ranked above this normalised precision.
DETAD_FN_MIN_PRECISION = 0.05
#: Our characteristic names -> DETAD's per-instance annotation fields.
DETAD_FIELD_OF = {name: field for field, name in DETAD_CHARACTERISTIC_FIELDS.items()}

#: tIoU thresholds of DETAD's analyses per protocol.
DIAGNOSIS_TIOU_THRESHOLDS = {'anet': ANET_TIOU_THRESHOLDS, 'thumos14': np.array([0.5])}


def _keep_masks(ground_truth: Mapping, durations: Mapping | None,
                characteristics: Mapping | None):
    """Per video, the instances DETAD keeps: length > 0, and coverage <= 1 where it is known
    (the file's own ``coverage`` where given, else length / duration)."""
    masks, n_len, n_cov = {}, 0, 0
    for vid, (segs, _) in ground_truth.items():
        segs = np.asarray(segs, dtype=np.float64).reshape(-1, 2)
        length = segs[:, 1] - segs[:, 0]
        ok_len = length > 0
        dur = None if durations is None else durations.get(vid)
        coverage = np.full(len(segs), np.nan)
        if dur is not None and dur > 0:
            coverage = length / dur
        given = (characteristics or {}).get(vid, {}).get('coverage')
        if given is not None:
            coverage = np.where(np.isnan(given), coverage, given)
        ok_cov = ~(coverage > 1)                 # nan (unknown) is kept
        n_len += int((~ok_len).sum())
        n_cov += int((ok_len & ~ok_cov).sum())
        masks[vid] = ok_len & ok_cov
    return masks, dict(non_positive_length=n_len, coverage_above_1=n_cov)


def filter_ground_truth(ground_truth: Mapping, durations: Mapping | None = None,
                        characteristics: Mapping | None = None):
    """Drop GT that DETAD drops: length <= 0, and coverage > 1 where it is known.

    Args:
        ground_truth: ``{video: (segments (G, 2) s, labels (G,))}``.
        durations: ``{video: seconds or None}``.
        characteristics: ``{video: {name: (G,) float, nan where not given}}``, the file's own
            per-instance characteristics (see :func:`diagnose`); its ``coverage`` wins over
            length / duration.

    Returns:
        ``(kept, excluded)``: the GT mapping without those instances and
        ``{'non_positive_length': int, 'coverage_above_1': int}``.
    """
    masks, excluded = _keep_masks(ground_truth, durations, characteristics)
    kept = {}
    for vid, (segs, labels) in ground_truth.items():
        segs = np.asarray(segs, dtype=np.float64).reshape(-1, 2)
        kept[vid] = (segs[masks[vid]], np.asarray(labels).reshape(-1)[masks[vid]])
    return kept, excluded


def merge_characteristics(computed: Mapping[str, np.ndarray], given: Mapping[str, np.ndarray],
                          num_videos_with_duration: int, num_videos: int,
                          warn: bool = True) -> dict:
    """The file's characteristics where it gives them, ours elsewhere; one warning per
    characteristic that stays unknown for some instances, naming the missing field.

    Args:
        computed: ``instance_characteristics`` output, (M,) per name (nan = unknown).
        given: (M,) per name, nan where the file gives nothing.
        num_videos_with_duration / num_videos: for the message.
    """
    out = {}
    for name, values in computed.items():
        values = np.asarray(values, dtype=np.float64)
        if name in given:
            values = np.where(np.isnan(given[name]), values, given[name])
        unknown = int(np.isnan(values).sum())
        if unknown and warn:
            field = DETAD_FIELD_OF[name]
            warnings.warn(
                f'diagnosis: {unknown} of {len(values)} ground-truth instances have no '
                f'"{name}" bucket: the annotation file gives no per-instance "{field}" for them '
                f'and {num_videos - num_videos_with_duration} of {num_videos} videos have no '
                f'"duration" (or "duration_second") to compute it from', stacklevel=3)
        out[name] = values if name != 'num_instances' else values.astype(np.int64)
    return out


def to_class_agnostic(ground_truth: Mapping, predictions: Mapping):
    """Same segments and scores with every label set to 0 (proposal view)."""
    gt = {v: (s, np.zeros(len(np.asarray(lab).reshape(-1)), np.int64))
          for v, (s, lab) in ground_truth.items()}
    pr = {v: (s, sc, np.zeros(len(np.asarray(sc).reshape(-1)), np.int64))
          for v, (s, sc, _) in predictions.items()}
    return gt, pr


def diagnose(ground_truth: Mapping, predictions: Mapping, num_classes: int,
             durations: Mapping | None = None, protocol: str = 'anet', tiou_thresholds=None,
             min_tiou: float = 0.1, limit_factor: int = 10,
             fn_min_precision: float = DETAD_FN_MIN_PRECISION,
             buckets: Mapping | None = None, class_agnostic: bool = False,
             score_order: str = 'official', characteristics: Mapping | None = None,
             warn_unknown_characteristics: bool = True) -> dict:
    """False-positive profile, error-removal gains, sensitivity and false-negative rates.

    Args:
        ground_truth: ``{video: (segments (G, 2) seconds, labels (G,) int)}``.
        predictions: ``{video: (segments (P, 2) seconds, scores (P,), labels (P,) int)}``.
        num_classes: labels lie in ``[0, num_classes)``.
        durations: ``{video: duration in seconds or None}`` (coverage; unknown -> no bucket).
        protocol: ``'anet'`` or ``'thumos14'``: default thresholds and buckets.
        tiou_thresholds: the ``alpha`` values (overrides the protocol's).
        min_tiou: lower tIoU of localization/confusion errors (DETAD 0.1).
        limit_factor: K of the top-KG false-positive profile (DETAD 10).
        fn_min_precision: a GT counts as detected only by a prediction ranked where the
            normalised precision is above this (DETAD's 0.05 by default; 0: at any rank).
        buckets: ``{characteristic: (edges, names)}`` (overrides the protocol's).
        class_agnostic: analyse as proposals (all labels 0).
        score_order: ranking ties, see ``match_detections``.
        characteristics: ``{video: {'coverage' | 'length' | 'num_instances': (G,) float, nan
            where not given}}``, per-instance characteristics the GT file provides (DETAD's
            ``*_extra_characteristics.json``); they are used as given, the missing ones are
            computed (coverage needs the video duration), and a characteristic that stays
            unknown is warned about once, naming the missing field
            (``warn_unknown_characteristics=False``: no warning, e.g. on a second view of the
            same GT).

    Returns:
        JSON-ready dict (lists; ``nan`` where undefined), see ``docs/diagnosis.md``.
    """
    if protocol not in DIAGNOSIS_TIOU_THRESHOLDS:
        raise ValueError(f"protocol must be one of {sorted(DIAGNOSIS_TIOU_THRESHOLDS)}, "
                         f'got {protocol!r}')
    thr = np.asarray(DIAGNOSIS_TIOU_THRESHOLDS[protocol] if tiou_thresholds is None
                     else tiou_thresholds, dtype=np.float64).reshape(-1)
    if thr.size == 0 or np.any((thr <= min_tiou) | (thr > 1)):
        raise ValueError(f'tiou_thresholds must lie in ({min_tiou}, 1], got {thr.tolist()}')
    buckets = BUCKETS[protocol] if buckets is None else buckets
    masks, excluded = _keep_masks(ground_truth, durations, characteristics)
    gt_in = {vid: (np.asarray(segs, dtype=np.float64).reshape(-1, 2)[masks[vid]],
                   np.asarray(labels).reshape(-1)[masks[vid]])
             for vid, (segs, labels) in ground_truth.items()}
    given = {}
    for name in CHARACTERISTICS:
        parts = [np.asarray((characteristics or {}).get(vid, {}).get(
            name, np.full(len(masks[vid]), np.nan)), dtype=np.float64)[masks[vid]]
            for vid in gt_in]
        given[name] = np.concatenate(parts) if parts else np.zeros(0)
    pr_in = predictions
    if class_agnostic:
        gt_in, pr_in = to_class_agnostic(gt_in, pr_in)
        num_classes = 1

    gt = flatten_ground_truth(gt_in)
    pred = flatten_predictions(pr_in)
    m = match_detections(gt_in, pr_in, num_classes, thr, score_order)
    matched, order = m['matched_gt'], m['class_order']
    num_gt = np.bincount(gt['labels'], minlength=num_classes)
    avg_pos = average_positives_per_class(num_gt)
    official = compute_detection_map(gt_in, pr_in, num_classes, thr, score_order)

    # false positives: categories over the top-KG predictions of each class
    top_iou, top_label = top_gt_overlap(gt, pred)
    codes = classify_detections(matched, top_iou, top_label == pred['labels'], thr, min_tiou)
    shares, sizes = false_positive_profile(codes, order, num_gt, limit_factor)
    removal = error_removal_gain(codes, order, num_gt, avg_pos, limit_factor)
    cats = PROPOSAL_FP_CATEGORIES if class_agnostic else FP_CATEGORIES
    idx = [FP_CATEGORIES.index(c) for c in cats]

    # sensitivity and false negatives per GT bucket (all predictions)
    dur = np.array([np.nan if durations is None or durations.get(gt['videos'][v]) is None
                    else float(durations[gt['videos'][v]]) for v in gt['video']])
    chars = merge_characteristics(
        instance_characteristics(gt['segments'], gt['video'], dur), given,
        sum(1 for v in gt['videos'] if durations and durations.get(v) is not None),
        len(gt['videos']), warn=warn_unknown_characteristics)
    ids = bucketize(chars, buckets=buckets)
    base = sensitivity_by_bucket(matched, order, gt['labels'], np.zeros(len(gt['labels']), int),
                                 1, avg_pos)[0]
    fn_matched = discard_low_precision(matched, order, num_gt, avg_pos, fn_min_precision)
    missed = missed_ground_truth(fn_matched, len(gt['labels']))
    fn_overall, _ = false_negative_rates(missed, np.zeros(len(gt['labels']), int), 1)
    sensitivity, false_negative = {}, {'overall': fn_overall}
    for name in CHARACTERISTICS:
        if name not in ids:
            continue
        b_ids, names = ids[name]
        counts = np.bincount(b_ids[b_ids >= 0], minlength=len(names))
        sensitivity[name] = dict(
            buckets=list(names), edges=np.asarray(buckets[name][0], float).tolist(),
            num_gt=counts.tolist(),
            average_mAP_N=sensitivity_by_bucket(matched, order, gt['labels'], b_ids, len(names),
                                                avg_pos).tolist(),
            no_bucket=int((b_ids < 0).sum()))
        false_negative[name] = dict(buckets=list(names), edges=sensitivity[name]['edges'],
                                    num_gt=counts.tolist(),
                                    rate=false_negative_rates(missed, b_ids, len(names))[1].tolist())
    return dict(
        class_agnostic=bool(class_agnostic), tiou_thresholds=thr.tolist(), min_tiou=min_tiou,
        num_classes=int((num_gt > 0).sum()), num_gt=int(num_gt.sum()),
        num_predictions=int(pred['labels'].size), avg_positives_per_class=avg_pos,
        excluded_gt=excluded, average_mAP=official['average_mAP'],
        mAP=official['mAP'].tolist(), average_mAP_N=float(base),
        false_positive=dict(
            categories=list(cats), limit_factor=limit_factor,
            profile=shares[:, idx].tolist(), group_sizes=sizes.tolist(),
            average_mAP_N_top=removal['average_mAP_N'],
            average_mAP_N_gain={c: removal['gain'][c] for c in cats[1:]}),
        sensitivity=sensitivity,
        false_negative=dict(false_negative, min_normalized_precision=fn_min_precision))


def diagnose_files(results_file, ann_file, protocol: str = 'anet', subset: str | None = None,
                   blocked=None, ignore_labels: Iterable = ('Ambiguous',), **kwargs) -> dict:
    """:func:`diagnose` on files: detections when the results carry labels (plus their
    class-agnostic view), else proposals only.

    Classes are the GT labels in order of first appearance, minus ``ignore_labels`` (GT and
    predictions with those labels are dropped, as THUMOS14's ``Ambiguous``). A predicted label
    unknown to the GT raises ``KeyError`` naming the file and video (as the official code).

    Returns:
        ``{'classes': [...], 'detection': summary or None, 'class_agnostic': summary}``.
    """
    from ..formats import (align_results_to_gt, class_names_from_gt, read_blocked,
                           read_ground_truth, read_results)
    if isinstance(blocked, str) or hasattr(blocked, '__fspath__'):
        blocked = read_blocked(blocked)
    ignore = set(ignore_labels or ())
    gt_raw = read_ground_truth(ann_file, subset=subset, blocked=blocked)
    results = align_results_to_gt(read_results(results_file, blocked=blocked), gt_raw)
    classes = [c for c in class_names_from_gt(gt_raw) if c not in ignore]
    if not classes:
        raise ValueError(f'{ann_file}: no ground-truth instance left to diagnose')
    index = {c: i for i, c in enumerate(classes)}
    gt, durations, characteristics = {}, {}, {}
    for vid, rec in gt_raw.items():
        keep = np.array([lab not in ignore for lab in rec['labels']], dtype=bool)
        gt[vid] = (rec['segments'][keep],
                   np.array([index[lab] for lab, k in zip(rec['labels'], keep) if k], np.int64))
        durations[vid] = rec['duration']
        if 'characteristics' in rec:
            characteristics[vid] = {k: v[keep] for k, v in rec['characteristics'].items()}
    kwargs.setdefault('characteristics', characteristics or None)
    labelled = [r['labels'] is not None for r in results.values() if len(r['scores'])]
    has_labels = bool(labelled) and all(labelled)
    preds = {}
    for vid, rec in results.items():
        if has_labels:
            rec_labels = rec['labels'] or []                  # None for a video without items
            keep = np.array([lab not in ignore for lab in rec_labels], dtype=bool)
            labs = []
            for lab in (lab for lab, k in zip(rec_labels, keep) if k):
                if lab not in index:
                    raise KeyError(f'{results_file}: video {vid}: label {lab!r} is not a '
                                   f'ground-truth class of {ann_file}')
                labs.append(index[lab])
        else:
            keep = np.ones(len(rec['scores']), dtype=bool)
            labs = [0] * int(keep.sum())
        preds[vid] = (rec['segments'][keep], rec['scores'][keep], np.asarray(labs, np.int64))
    out = dict(classes=classes, detection=None)
    if has_labels:
        out['detection'] = diagnose(gt, preds, len(classes), durations, protocol, **kwargs)
    out['class_agnostic'] = diagnose(gt, preds, len(classes), durations, protocol,
                                     class_agnostic=True,
                                     warn_unknown_characteristics=not has_labels, **kwargs)
    return out


def json_ready(obj):
    """Replace ``nan``/``inf`` by ``None`` (strict JSON) and numpy scalars by Python ones."""
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_ready(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
