"""Writes BSN TEM outputs, one CSV per video (spec §1.6a, §4.1 "Predict").

An evaluator entry that computes nothing: it dumps results, as mmengine's ``DumpResults``
does. ``TEMMetric``, its name in MMAction2 configs, stays registered as a deprecated alias.
"""
from __future__ import annotations

import os.path as osp
import warnings
from typing import Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmloc.datasets.transforms.proposal_loading import write_tem_results
from mmloc.registry import METRICS


@METRICS.register_module()
class DumpTEMResults(BaseMetric):
    """Collect each sample's ``pred_tem`` (T, 5) and write ``<out_dir>/<video_name>.csv``.

    Files are written atomically on rank 0 after results are gathered from all ranks.
    Returns no metrics (an empty dict).

    Args:
        out_dir: directory of the TEM result CSVs (the PGM config's ``tem_results_dir``).
    """

    default_prefix: Optional[str] = 'tem'

    def __init__(self, out_dir: str, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not out_dir:
            raise ValueError(f'{type(self).__name__}: out_dir (where the TEM result CSVs go) is required')
        self.out_dir = out_dir

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            get = sample.get if isinstance(sample, dict) else \
                lambda k, d=None, s=sample: getattr(s, k, d)
            video_name = get('video_name')
            pred = get('pred_tem')
            if video_name is None or pred is None:
                raise KeyError(f'{type(self).__name__}: each data sample needs "video_name" (in meta_keys) '
                               'and "pred_tem" (set by TEM predict)')
            if hasattr(pred, 'detach'):
                pred = pred.detach().cpu().numpy()
            self.results.append((video_name, np.asarray(pred)))

    def compute_metrics(self, results: list) -> dict:
        for video_name, pred in results:
            write_tem_results(osp.join(self.out_dir, video_name + '.csv'), pred)
        MMLogger.get_current_instance().info(
            f'{type(self).__name__}: wrote {len(results)} TEM result files to {self.out_dir}')
        return {}


@METRICS.register_module()
class TEMMetric(DumpTEMResults):
    """Deprecated name of :class:`DumpTEMResults` (MMAction2 configs use it); same arguments."""

    def __init__(self, out_dir: str, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        warnings.warn('TEMMetric is deprecated: it computes no metric, it writes the TEM '
                      "outputs; use dict(type='DumpTEMResults', out_dir=...)",
                      FutureWarning, stacklevel=2)
        super().__init__(out_dir, collect_device=collect_device, prefix=prefix)
