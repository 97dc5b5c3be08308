"""``ANetMetric``: AR@AN of proposals (``--eval AR@AN``), optionally writing results.json."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Mapping, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmloc.registry import METRICS
from mmloc.utils.io import collector_paused

from ..formats import write_results
from ..functional.ar_an import (ANET_PROPOSAL_TIOU_THRESHOLDS, AR_AT_INDEX,
                                average_recall_at_avg_proposals)


def _to_numpy(x, dtype=np.float64) -> np.ndarray:
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def video_id_from_name(video_name: str) -> str:
    """``v_<id>`` -> ``<id>`` (results files use bare ids); other names are kept."""
    return video_name[2:] if video_name.startswith('v_') else video_name


def ar_an_metrics(gt_segments: Mapping[str, np.ndarray], proposals: Mapping[str, tuple],
                  max_avg_proposals: float | None = 100,
                  temporal_iou_thresholds=ANET_PROPOSAL_TIOU_THRESHOLDS,
                  iou_dtype: str = 'float64') -> dict:
    """The metric dict of ``--eval AR@AN``: ``auc`` (percent), ``AR@1/5/10/100`` (fractions).

    Args:
        gt_segments: ``{video_id: (G, 2) seconds}``.
        proposals: ``{video_id: (segments (P, 2) seconds, scores (P,))}``.
    """
    out = average_recall_at_avg_proposals(gt_segments, proposals, max_avg_proposals,
                                          temporal_iou_thresholds, iou_dtype=iou_dtype)
    metrics = OrderedDict(auc=out['auc'])
    for key in AR_AT_INDEX:
        metrics[key] = out[key]
    return metrics


@METRICS.register_module()
class ANetMetric(BaseMetric):
    """AR@AN on ActivityNet-style proposals, computed as the official evaluator does.

    Args:
        metric_type: only ``'AR@AN'``.
        out_file: when set, the proposals are written there as results.json (spec §1.5),
            atomically, before the metrics are computed.
        metric_options: ``{'AR@AN': {'temporal_iou_thresholds', 'max_avg_proposals'}}``
            (MMAction2's layout; the inner dict alone is accepted too).
        iou_dtype: ``'float64'`` (official, default) or ``'float32'`` (MMAction2's IoU).
        collect_device, prefix, collect_dir: see ``mmengine.evaluator.BaseMetric``.

    ``process`` keeps, per video, its GT (``annotations`` from the metainfo, seconds) and its
    predictions (``pred_instances.segments`` seconds, ``.scores``) in ``self.results`` so
    that ``collect_results`` gathers both across ranks (MMAction2 kept the GT per rank, which
    made distributed AR@AN wrong). Videos seen twice (distributed padding) count once.
    """

    def __init__(self, metric_type: str = 'AR@AN', out_file: str | None = None,
                 metric_options: dict | None = None, iou_dtype: str = 'float64',
                 collect_device: str = 'cpu', prefix: str | None = None,
                 collect_dir: str | None = None, dump_config: dict | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        if metric_type != 'AR@AN':
            raise ValueError(f"ANetMetric: metric_type must be 'AR@AN', got {metric_type!r} "
                             '(the BSN TEM output is written by its own metric)')
        if iou_dtype not in ('float64', 'float32'):
            raise ValueError(f"ANetMetric: iou_dtype must be 'float64' or 'float32', got {iou_dtype!r}")
        if dump_config is not None:  # MMAction2 1.x spelling: dict(out=..., output_format='json')
            if dump_config.get('output_format', 'json') != 'json':
                raise ValueError('ANetMetric: only JSON output is supported for AR@AN')
            out_file = out_file or dump_config.get('out')
        options = dict(metric_options or {})
        options = dict(options.get('AR@AN', options))
        unknown = set(options) - {'temporal_iou_thresholds', 'max_avg_proposals'}
        if unknown:
            raise ValueError(f'ANetMetric: unknown metric_options {sorted(unknown)}; expected '
                             "'temporal_iou_thresholds' and/or 'max_avg_proposals'")
        self.metric_type = metric_type
        self.out_file = out_file
        self.iou_dtype = iou_dtype
        self.temporal_iou_thresholds = np.asarray(
            options.get('temporal_iou_thresholds', ANET_PROPOSAL_TIOU_THRESHOLDS), dtype=np.float64)
        self.max_avg_proposals = options.get('max_avg_proposals', 100)

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        for sample in data_samples:
            if hasattr(sample, 'to_dict'):
                sample = sample.to_dict()
            name = sample.get('video_name')
            if name is None:
                raise KeyError('ANetMetric: data sample has no "video_name" (add it to the '
                               "meta_keys of PackLocalizationInputs)")
            if 'annotations' not in sample:
                raise KeyError(f'ANetMetric: video {name}: no "annotations" in the data sample '
                               '(add it to the meta_keys of PackLocalizationInputs)')
            pred = sample.get('pred_instances')
            if pred is None or 'segments' not in pred or 'scores' not in pred:
                raise KeyError(f'ANetMetric: video {name}: pred_instances needs "segments" '
                               '(seconds) and "scores"')
            gt = np.asarray([a['segment'] for a in sample['annotations']],
                            dtype=np.float64).reshape(-1, 2)
            self.results.append(dict(
                video_id=video_id_from_name(name), gt_segments=gt,
                segments=_to_numpy(pred['segments']).reshape(-1, 2),
                scores=_to_numpy(pred['scores']).reshape(-1)))

    def compute_metrics(self, results: list) -> dict:
        videos = OrderedDict()
        for res in results:
            videos.setdefault(res['video_id'], res)
        if self.out_file:
            write_results(self.out_file, {
                vid: dict(segments=r['segments'], scores=r['scores']) for vid, r in videos.items()})
            MMLogger.get_current_instance().info(f'ANetMetric: proposals written to {self.out_file}')
        metrics = ar_an_metrics(
            {vid: r['gt_segments'] for vid, r in videos.items()},
            {vid: (r['segments'], r['scores']) for vid, r in videos.items()},
            self.max_avg_proposals, self.temporal_iou_thresholds, self.iou_dtype)
        return dict(metrics)


@collector_paused
def ar_an_from_files(results_file, ann_file, subset: str | None = None,
                     blocked=None, max_avg_proposals: float | None = 100,
                     temporal_iou_thresholds=ANET_PROPOSAL_TIOU_THRESHOLDS,
                     iou_dtype: str = 'float64') -> dict:
    """AR@AN of a results file (ours/MMAction2/official) against a GT file (any layout).

    ``subset`` and ``blocked`` filter the GT as the official evaluator does (``blocked``
    also drops those videos' proposals); result ids match GT ids with or without ``v_``.
    Proposals outside their video are scored as written, with one warning.
    """
    from ..formats import (align_results_to_gt, count_outside_duration, read_ground_truth,
                           read_results)
    if isinstance(blocked, (str, bytes)) or hasattr(blocked, '__fspath__'):
        from ..formats import read_blocked
        blocked = read_blocked(blocked)
    gt = read_ground_truth(ann_file, subset=subset, blocked=blocked)
    results = align_results_to_gt(read_results(results_file, blocked=blocked), gt)
    count_outside_duration(results, gt, str(results_file) if isinstance(results_file, str)
                           or hasattr(results_file, '__fspath__') else 'results')
    return ar_an_metrics({vid: rec['segments'] for vid, rec in gt.items()},
                         {vid: (rec['segments'], rec['scores']) for vid, rec in results.items()},
                         max_avg_proposals, temporal_iou_thresholds, iou_dtype)
