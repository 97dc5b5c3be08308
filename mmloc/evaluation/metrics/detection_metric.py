"""``DetectionMetric``: detection mAP (``--eval mAP``), ActivityNet or THUMOS14 protocol."""
from __future__ import annotations

import itertools
import os
from collections import OrderedDict
from typing import Any, Mapping, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmloc.registry import METRICS
from mmloc.utils.io import collector_paused

from ..formats import write_results
from ..functional.detection_map import (PROTOCOL_TIOU_THRESHOLDS, as_video_columns,
                                        compute_detection_map)
from .anet_metric import _to_numpy, video_id_from_name


def resolve_tiou_thresholds(protocol: str = 'anet', tiou_thresholds=None) -> np.ndarray:
    """Explicit thresholds win; else the protocol's (anet 0.5:0.05:0.95, thumos14 0.3:0.1:0.7)."""
    if tiou_thresholds is not None:
        thr = np.asarray(tiou_thresholds, dtype=np.float64).reshape(-1)
        if thr.size == 0:
            raise ValueError('tiou_thresholds is empty')
        return thr
    if protocol not in PROTOCOL_TIOU_THRESHOLDS:
        raise ValueError(f"protocol must be one of {sorted(PROTOCOL_TIOU_THRESHOLDS)}, got {protocol!r}")
    return PROTOCOL_TIOU_THRESHOLDS[protocol]


def map_metrics(result: dict, thresholds: np.ndarray, average_over=None) -> dict:
    """``{'mAP@0.50': ..., ..., 'average_mAP': ...}`` from :func:`compute_detection_map`.

    ``average_over``: thresholds (a subset of ``thresholds``) that ``average_mAP`` averages;
    None averages all (e.g. THUMOS14 papers report the mean of 0.3:0.1:0.7 while SSN
    evaluates 0.1:0.1:0.7).
    """
    metrics = OrderedDict((f'mAP@{t:.2f}', float(v)) for t, v in zip(thresholds, result['mAP']))
    if average_over is None:
        metrics['average_mAP'] = float(result['average_mAP'])
        return metrics
    picked = []
    for t in average_over:
        hit = np.flatnonzero(np.isclose(thresholds, t, rtol=0, atol=1e-9))
        if hit.size == 0:
            raise ValueError(f'average_over: threshold {t} is not one of the evaluated '
                             f'thresholds {list(np.round(thresholds, 4))}')
        picked.append(result['mAP'][hit[0]])
    metrics['average_mAP'] = float(np.mean(picked))
    return metrics


def label_indices(labels, index: Mapping[str, int], where: str) -> np.ndarray:
    """Class names (or ints) -> int indices; unknown names raise naming ``where``."""
    out = np.empty(len(labels), dtype=np.int64)
    for i, lab in enumerate(labels):
        if isinstance(lab, (int, np.integer)):
            out[i] = int(lab)
        elif lab in index:
            out[i] = index[lab]
        else:
            raise KeyError(f'{where}: unknown class name {lab!r}')
    return out


def _checked_label_indices(labels, classes: list, index: Mapping, where: str) -> np.ndarray:
    """A results file's labels (names or indices) as indices into ``classes``."""
    from mmloc.utils.validation import check_label
    try:   # the common case, class names of the GT: one lookup each
        if set(map(type, labels)) == {str}:
            return np.array(list(map(index.__getitem__, labels)), dtype=np.int64)
    except KeyError:
        pass   # an unknown name: the per-item check below names it
    out = np.empty(len(labels), dtype=np.int64)
    for i, lab in enumerate(labels):
        lab = check_label(lab, f'{where} item {i}: "label"', classes)
        out[i] = index[lab] if isinstance(lab, str) else lab
    return out


def _all_label_indices(label_lists: list, classes: list, index: Mapping, name: str,
                       vids: list) -> list:
    """:func:`_checked_label_indices` of every video's labels (``label_lists``, one list
    or None per video ``vids`` of the file ``name``): one C-level lookup over all of them
    when they are all known class names, else video by video (the first unknown one
    raises, naming its video and item, as before)."""
    known = _known_name_indices(label_lists, index)
    if known is not None:
        return known
    return [_checked_label_indices(lab or [], classes, index, f'{name}: video {vid}')
            for lab, vid in zip(label_lists, vids)]


def _known_name_indices(label_lists: list, index: Mapping[str, int]) -> list | None:
    """Each list of ``label_lists`` (or None: no labels) as an int64 array of indices, from
    one C-level lookup over all of them; None unless every label is a name in ``index``
    (the caller's per-video path then decides, and names what is wrong)."""
    flat = list(itertools.chain.from_iterable(lab or () for lab in label_lists))
    if set(map(type, flat)) - {str}:
        return None
    try:
        ids = np.fromiter(map(index.__getitem__, flat), np.int64, len(flat))
    except KeyError:
        return None
    ends = np.cumsum([len(lab or ()) for lab in label_lists]).tolist()
    return [ids[a:b] for a, b in zip([0] + ends[:-1], ends)]


def _coded_label_indices(records, index: Mapping[str, int]) -> list | None:
    """Each record's labels as indices from the scanner's codes (``read_results(...,
    label_codes=True)``): one lookup per distinct name. None when a record has no codes or
    a name is unknown (the item-by-item path then names it)."""
    records = list(records)
    if not records or not all('label_codes' in r for r in records):
        return None
    names = records[0]['label_names']
    if not all(r['label_names'] is names for r in records):
        return None
    lut = np.array([index.get(n, -1) for n in names], np.int64)
    if (lut < 0).any():
        return None
    return [lut[r['label_codes']] for r in records]


def _source_label(source, default: str) -> str:
    """A path as text for messages; ``default`` for an already-loaded object (whose text
    would be the whole file)."""
    return os.fspath(source) if isinstance(source, (str, os.PathLike)) else default


@collector_paused
def load_detection_files(results_file, ann_file, subset: str | None = None,
                         blocked=None) -> tuple:
    """Read and check a detection results file and its GT file for :func:`compute_detection_map`.

    Returns ``(gt, predictions, classes)``: ``gt = {video: (segments (G, 2), labels (G,))}``,
    ``predictions = {video: (segments (P, 2), scores (P,), labels (P,))}`` (labels are
    indices into ``classes``, the GT labels in order of first appearance), both as
    :class:`~mmloc.evaluation.functional.video_columns.VideoColumns` (flat columns: a few
    Python containers instead of one per video). Errors as in
    :func:`detection_map_from_files`.
    """
    from ..formats import (align_results_to_gt, class_names_from_gt, count_outside_duration,
                           read_blocked, read_ground_truth, read_results)
    if isinstance(blocked, str) or hasattr(blocked, '__fspath__'):
        blocked = read_blocked(blocked)
    # the results first: a large one loads numba for its scan, which then also proves
    # the GT's keys unique (mmloc.utils.io.parse_json_unique)
    results = read_results(results_file, require_label=True, blocked=blocked, label_codes=True)
    gt = read_ground_truth(ann_file, subset=subset, blocked=blocked)
    results = align_results_to_gt(results, gt)
    classes = class_names_from_gt(gt)
    index = {c: i for i, c in enumerate(classes)}
    gt_labels = _known_name_indices([r['labels'] for r in gt.values()], index) or [
        label_indices(r['labels'], index, f'{ann_file}: video {vid}') for vid, r in gt.items()]
    gt_arr = as_video_columns({vid: (r['segments'], lab) for (vid, r), lab
                               in zip(gt.items(), gt_labels)}, 2,
                              _source_label(ann_file, 'ground truth'))
    name = _source_label(results_file, 'results')
    count_outside_duration(results, gt, name)
    labels = _coded_label_indices(results.values(), index)
    if labels is None:
        labels = _all_label_indices([r['labels'] for r in results.values()], classes, index,
                                    name, list(results))
    pr_arr = as_video_columns({vid: (r['segments'], r['scores'], lab)
                               for (vid, r), lab in zip(results.items(), labels)}, 3, name)
    return gt_arr, pr_arr, classes


def detection_map_from_files(results_file, ann_file, subset: str | None = None, blocked=None,
                             protocol: str = 'anet', tiou_thresholds=None,
                             score_order: str = 'official') -> dict:
    """mAP of a detection results file (ours or the official submission) against a GT file.

    Classes are the GT labels in order of first appearance (the official class index); a
    predicted label unknown to the GT (a name it lacks, an index outside ``[0, C)``) raises
    :class:`~mmloc.utils.validation.FormatKeyError` (a ``KeyError``, as in the official code)
    naming the file, video and item. Segments outside their video are scored as written
    with one warning.
    """
    gt_arr, pr_arr, classes = load_detection_files(results_file, ann_file, subset, blocked)
    thr = resolve_tiou_thresholds(protocol, tiou_thresholds)
    out = compute_detection_map(gt_arr, pr_arr, len(classes), thr, score_order)
    return map_metrics(out, thr)


@METRICS.register_module()
class DetectionMetric(BaseMetric):
    """Temporal detection mAP, computed as the official ActivityNet evaluator does.

    Args:
        protocol: ``'anet'`` (tIoU 0.5:0.05:0.95) or ``'thumos14'`` (0.3, 0.4, 0.5, 0.6, 0.7).
        tiou_thresholds: explicit thresholds (override ``protocol``).
        classes: class names; index ``i`` is label ``i`` of ``pred_instances.labels``.
            Defaults to ``dataset_meta['classes']``. Needed when GT labels are names.
        label_map: ``{name: index}`` alternative to ``classes``.
        out_file: when set, detections are written there (results.json layout with
            ``label`` = class name when known, else the index).
        score_order: ``'official'`` or ``'stable'`` (MMAction2's tie order).
        average_over: thresholds that ``average_mAP`` averages (default: all evaluated).
        classifier_fusion: ``dict(file=..., top_k_classes=2, score_fusion='sqrt',
            num_pred=200)``: before evaluating, label the (class-agnostic) detections with
            a video-level classifier through :func:`proposals_to_detections`, the function
            ``report_map`` uses (ActionFormer's ActivityNet fusion, actionformer-spec §6.5).
            Classifier labels are class names, or indices when the file has plain score
            lists.
        gt_cleaning: ``dict(tol_s=1e-3, min_length_s=1e-3)`` (ActionFormer) or
            ``dict(min_length_s=None, drop_empty=True)`` (TriDet): drop duplicate and
            too-short GT first, as their evaluators do (actionformer-spec §1.1,
            :func:`~mmloc.datasets.annotations.remove_duplicate_annotations`); None keeps
            every annotation.

    GT comes from each sample's ``annotations`` (``{'segment': [s, e] seconds, 'label'}``,
    label a name or an int); predictions from ``pred_instances`` (``segments`` seconds,
    ``scores``, ``labels`` int). Both go to ``self.results`` (gathered across ranks). Keys:
    ``mAP@<t>`` (two decimals) and ``average_mAP``.
    """

    def __init__(self, protocol: str = 'anet', tiou_thresholds=None, classes=None,
                 label_map: dict | None = None, out_file: str | None = None,
                 score_order: str = 'official', average_over=None,
                 classifier_fusion: dict | None = None, gt_cleaning: dict | None = None,
                 collect_device: str = 'cpu',
                 prefix: str | None = None, collect_dir: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.classifier_fusion = dict(classifier_fusion) if classifier_fusion else None
        self.gt_cleaning = dict(gt_cleaning) if gt_cleaning is not None else None
        if self.classifier_fusion is not None and 'file' not in self.classifier_fusion:
            raise ValueError('DetectionMetric: classifier_fusion needs "file" (video-level '
                             'class scores, read by formats.read_classifier_results)')
        self.tiou_thresholds = resolve_tiou_thresholds(protocol, tiou_thresholds)
        if score_order not in ('official', 'stable'):
            raise ValueError(f"score_order must be 'official' or 'stable', got {score_order!r}")
        self.classes = list(classes) if classes is not None else None
        self.label_map = dict(label_map) if label_map is not None else None
        self.out_file = out_file
        self.score_order = score_order
        self.average_over = None if average_over is None else [float(t) for t in average_over]

    def _class_index(self) -> dict | None:
        if self.label_map is not None:
            return self.label_map
        classes = self.classes
        if classes is None and self.dataset_meta:
            classes = self.dataset_meta.get('classes')
        return None if classes is None else {c: i for i, c in enumerate(classes)}

    def _fuse_classifier(self, videos: OrderedDict, index: Mapping) -> OrderedDict:
        from ..formats import read_classifier_results
        cfg = dict(top_k_classes=2, score_fusion='sqrt', num_pred=200)
        cfg.update({k: v for k, v in self.classifier_fusion.items() if k != 'file'})
        classifier = read_classifier_results(self.classifier_fusion['file'])
        fused = proposals_to_detections(
            {vid: dict(segments=r['segments'], scores=r['scores']) for vid, r in videos.items()},
            classifier, multiply_scores=True, **cfg)
        out = OrderedDict()
        for vid, r in videos.items():
            d = fused[vid]
            out[vid] = dict(r, segments=d['segments'], scores=d['scores'],
                            labels=label_indices(d['labels'], index, f'classifier video {vid}'))
        return out

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        for sample in data_samples:
            if hasattr(sample, 'to_dict'):
                sample = sample.to_dict()
            name = sample.get('video_name')
            if name is None or 'annotations' not in sample:
                raise KeyError(f'DetectionMetric: data sample {name}: needs "video_name" and '
                               '"annotations" in its metainfo (meta_keys of the pack transform)')
            pred = sample.get('pred_instances')
            if pred is None or not all(k in pred for k in ('segments', 'scores', 'labels')):
                raise KeyError(f'DetectionMetric: video {name}: pred_instances needs '
                               '"segments" (seconds), "scores" and "labels"')
            anns = sample['annotations']
            if self.gt_cleaning is not None:
                from mmloc.datasets.annotations import remove_duplicate_annotations
                anns = remove_duplicate_annotations(list(anns), **self.gt_cleaning)
            self.results.append(dict(
                video_id=video_id_from_name(name),
                gt_segments=np.asarray([a['segment'] for a in anns], np.float64).reshape(-1, 2),
                gt_labels=[a['label'] for a in anns],
                segments=_to_numpy(pred['segments']).reshape(-1, 2),
                scores=_to_numpy(pred['scores']).reshape(-1),
                labels=_to_numpy(pred['labels'], np.int64).reshape(-1)))

    def compute_metrics(self, results: list) -> dict:
        videos = OrderedDict()
        for res in results:
            videos.setdefault(res['video_id'], res)
        index = self._class_index()
        if index is None:
            all_labels = [lab for r in videos.values() for lab in r['gt_labels']]
            if any(not isinstance(lab, (int, np.integer)) for lab in all_labels):
                raise ValueError('DetectionMetric: GT labels are class names; pass `classes` or '
                                 '`label_map`, or set dataset_meta["classes"]')
            num_classes = max(
                [int(x) + 1 for x in all_labels] +
                [int(r['labels'].max()) + 1 for r in videos.values() if r['labels'].size])
        else:
            num_classes = max(index.values()) + 1
        names = {i: c for c, i in index.items()} if index else {}
        if self.out_file:
            write_results(self.out_file, {vid: dict(
                segments=r['segments'], scores=r['scores'],
                labels=[names.get(int(x), int(x)) for x in r['labels']])
                for vid, r in videos.items()})
            MMLogger.get_current_instance().info(f'DetectionMetric: detections written to {self.out_file}')
        gt = {vid: (r['gt_segments'],
                    label_indices(r['gt_labels'], index or {}, f'video {vid} annotations'))
              for vid, r in videos.items()}
        if self.classifier_fusion is not None:
            videos = self._fuse_classifier(videos, index or {})
        preds = {vid: (r['segments'], r['scores'], r['labels']) for vid, r in videos.items()}
        out = compute_detection_map(gt, preds, num_classes, self.tiou_thresholds,
                                    self.score_order)
        return dict(map_metrics(out, self.tiou_thresholds, self.average_over))


def proposals_to_detections(results: Mapping, classifier: Mapping, top_k_classes: int = 1,
                            multiply_scores: bool | None = None, score_fusion: str = 'product',
                            num_pred: int | None = None) -> dict:
    """Label proposals with video-level classes (``report_map``, spec §6.6).

    Args:
        results: :func:`~mmloc.evaluation.formats.read_results` output (proposals).
        classifier: ``{video_id: (class names, scores (C,))}``
            (:func:`~mmloc.evaluation.formats.read_classifier_results`); ids match with or
            without ``v_``.
        top_k_classes: 1 is MMAction2's rule: the top-1 class (stable ascending sort, last
            entry, so with ties the later entry wins) labels every proposal. ``k > 1`` repeats
            each proposal for the top-k classes.
        multiply_scores: ``score = proposal score x class score``; defaults to ``False`` for
            k = 1 (MMAction2 keeps the proposal score) and ``True`` for k > 1.
        score_fusion: how scores combine when multiplied: ``'product'``, or ``'sqrt'``
            (``sqrt(class score x proposal score)``, ActionFormer's external classifier
            fusion, actionformer-spec §6.5).
        num_pred: keep each video's ``num_pred`` best proposals first (numpy
            ``argsort(score)[::-1]``, ActionFormer's 200); None keeps all.

    Returns:
        detection results in the same layout, with ``labels``.
    """
    from ..formats import match_video_id
    if top_k_classes < 1:
        raise ValueError(f'top_k_classes must be >= 1, got {top_k_classes}')
    if multiply_scores is None:
        multiply_scores = top_k_classes > 1
    if score_fusion not in ('product', 'sqrt'):
        raise ValueError(f"score_fusion must be 'product' or 'sqrt', got {score_fusion!r}")
    out = {}
    for vid, rec in results.items():
        if num_pred is not None:
            keep = np.argsort(np.asarray(rec['scores']))[::-1][:num_pred]
            rec = dict(rec, segments=np.asarray(rec['segments'])[keep],
                       scores=np.asarray(rec['scores'])[keep])
        key = match_video_id(vid, classifier)
        if key not in classifier:
            raise KeyError(f'classifier results have no video {vid!r}')
        names, scores = classifier[key]
        order = np.argsort(np.asarray(scores), kind='stable')[::-1][:top_k_classes]
        segs = []
        labels, det_scores = [], []
        for c in order:
            segs.append(rec['segments'])
            labels += [names[c]] * rec['segments'].shape[0]
            if not multiply_scores:
                det_scores.append(rec['scores'])
            elif score_fusion == 'sqrt':
                det_scores.append(np.sqrt(rec['scores'] * scores[c]))
            else:
                det_scores.append(rec['scores'] * scores[c])
        out[vid] = dict(segments=np.concatenate(segs), scores=np.concatenate(det_scores),
                        labels=labels)
    return out
