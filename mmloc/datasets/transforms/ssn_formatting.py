"""Pack SSN samples into ``{'inputs', 'data_samples'}``.

``data_sample.proposals`` (InstanceData, one row per proposal):
    train: ``labels`` (P,) 1-based (0 = background), ``types`` (P,) 0/1/2,
    ``reg_targets`` (P, 2) normalised, ``scale_factors`` (P, 2).
    test: ``segments`` (P, 2) relative [0, 1], ``ticks`` (P, 4) int, ``scale_factors`` (P, 2).
metainfo: ``video_id`` (= ``video_name``), ``total_frames``, ``fps``, ``duration_second``,
    ``reg_norm_consts`` (2, 2), and the ground truth for ``DetectionMetric``:
    ``annotations`` = ``[{'segment': [start_s, end_s], 'label': class_id}]`` with **0-based**
    class ids and seconds ``frame / total_frames * duration_second``.
"""
from __future__ import annotations

import numpy as np
import torch
from mmengine.structures import InstanceData

from mmloc.registry import TRANSFORMS
from mmloc.structures import LocalizationDataSample


@TRANSFORMS.register_module()
class PackSSNInputs:
    """Build the SSN data sample (see the module docstring for the fields)."""

    def __call__(self, results: dict) -> dict:
        inputs = torch.from_numpy(np.ascontiguousarray(results['inputs']))
        sample = LocalizationDataSample()
        props = InstanceData()
        sf = torch.from_numpy(np.asarray(results['proposal_scale_factor'], np.float32))
        if 'proposal_ticks' in results:
            props.segments = torch.from_numpy(np.asarray(results['relative_proposals'],
                                                         np.float32))
            props.ticks = torch.from_numpy(np.asarray(results['proposal_ticks'], np.int64))
            props.scale_factors = sf
        else:
            props.labels = torch.from_numpy(np.asarray(results['proposal_labels'], np.int64))
            props.types = torch.from_numpy(np.asarray(results['proposal_type'], np.int64))
            props.reg_targets = torch.from_numpy(np.asarray(results['reg_targets'], np.float32))
            props.scale_factors = sf
        sample.proposals = props
        n = float(results['total_frames'])
        duration_s = float(results['duration_second'])
        gt = np.asarray(results['gt_segments'], np.float64).reshape(-1, 2)
        labels = np.asarray(results['gt_labels'], np.int64) - 1
        annotations = [dict(segment=[float(s), float(e)], label=int(c))
                       for (s, e), c in zip(gt / n * duration_s, labels)]
        sample.set_metainfo(dict(
            video_id=results['video_id'], video_name=results['video_id'],
            total_frames=int(results['total_frames']), fps=float(results['fps']),
            duration_second=duration_s,
            reg_norm_consts=np.asarray(results['reg_norm_consts'], np.float32),
            annotations=annotations))
        return dict(inputs=inputs, data_samples=sample)
