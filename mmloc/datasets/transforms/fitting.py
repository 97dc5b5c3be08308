"""Fitting a variable-length (C, T) feature sequence to a model, and its GT to the grid.

Three explicit ways (``FeatureDataset(fit_mode=...)`` picks the matching pipeline pieces):

* ``resize``: :class:`ResizeFeature` to a fixed T (BMN/BSN's 100 positions).
* ``pad``: :class:`CropFeature` to at most ``max_length`` (random window in training),
  then ``localization_collate`` pads the batch and sets the masks (one-stage models).
* ``sliding``: the dataset cuts each video into overlapping windows (``window`` in the
  results, cropped by ``LoadLocalizationFeature``) for AFSD-style / long THUMOS videos.

Every step keeps ``results['time_grid']`` in step with the features, so the GT and the
predictions are converted with the grid of what the model really sees.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import BaseTransform

from mmloc.registry import TRANSFORMS
from mmloc.structures import Segments
from .resample import resample_feature


@TRANSFORMS.register_module()
class ResizeFeature(BaseTransform):
    """Resample ``raw_feature`` (C, T) to (C, ``num_steps``); no-op when T already is.

    Args:
        num_steps: T of the output.
        method: ``'mmaction2'`` (the ``csv_mean_100`` rule: interpolation + mean of
            ``num_sub`` sub-samples per anchor, spec §1.1) or ``'linear'``
            (``F.interpolate(mode='linear', align_corners=False)``, ActionFormer's resize).
    """

    def __init__(self, num_steps: int, method: str = 'mmaction2', num_sub: int = 3) -> None:
        if method not in ('mmaction2', 'linear'):
            raise ValueError(f"ResizeFeature: method must be 'mmaction2' or 'linear', "
                             f'got {method!r}')
        self.num_steps = int(num_steps)
        self.method = method
        self.num_sub = num_sub

    def transform(self, results: dict) -> dict:
        feat = results['raw_feature']
        if feat.shape[1] == self.num_steps:
            return results
        if self.method == 'mmaction2':
            out = resample_feature(feat.T, self.num_steps, self.num_sub).T
        else:
            out = F.interpolate(torch.from_numpy(np.ascontiguousarray(feat))[None],
                                size=self.num_steps, mode='linear',
                                align_corners=False)[0].numpy()
        results['raw_feature'] = np.ascontiguousarray(out, dtype=np.float32)
        if 'time_grid' in results:
            results['time_grid'] = results['time_grid'].resized(self.num_steps)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(num_steps={self.num_steps}, method={self.method!r})'


@TRANSFORMS.register_module()
class CropFeature(BaseTransform):
    """Keep at most ``max_length`` positions of ``raw_feature`` (C, T).

    Training (``random=True``): a random window of ``max_length`` (seeded by the worker's
    numpy RNG); testing: the first ``max_length`` positions. The time grid is cropped with
    it, so GT converted afterwards lands in window coordinates. Shorter sequences are left
    for ``localization_collate`` to pad.
    """

    def __init__(self, max_length: int, random: bool = True) -> None:
        self.max_length = int(max_length)
        self.random = random

    def transform(self, results: dict) -> dict:
        feat = results['raw_feature']
        length = feat.shape[1]
        if length <= self.max_length:
            return results
        start = int(np.random.randint(0, length - self.max_length + 1)) if self.random else 0
        results['raw_feature'] = feat[:, start:start + self.max_length]
        if 'time_grid' in results:
            results['time_grid'] = results['time_grid'].cropped(start, self.max_length)
        return results


@TRANSFORMS.register_module()
class SegmentsToGrid(BaseTransform):
    """``annotations`` (seconds) -> ``gt_segments`` in ``unit`` + ``gt_labels``, via the grid.

    Args:
        unit: ``'index'`` (grid positions, one-stage models) or ``'normalised'``.
        clip: clamp to the grid ``[0, T]`` (``[0, 1]`` normalised) and drop segments left
            with no length inside it (windows, crops).
        label_map: class name -> id; None uses ``label_id`` (set by ``FeatureDataset``) or
            integer labels as they are.
    """

    def __init__(self, unit: str = 'index', clip: bool = True,
                 label_map: Optional[dict] = None) -> None:
        self.unit = unit
        self.clip = clip
        self.label_map = label_map

    def transform(self, results: dict) -> dict:
        grid = results.get('time_grid')
        if grid is None:
            raise KeyError(f"SegmentsToGrid: video {results.get('video_name', '?')}: no "
                           'time_grid in the results (FeatureDataset builds one from fps and '
                           'feat_stride)')
        anns = results.get('annotations', [])
        seg = Segments([a['segment'] for a in anns], 'second').to(self.unit, grid)
        labels = np.array([self._label(a) for a in anns], dtype=np.int64)
        data = np.asarray(seg.numpy(), dtype=np.float32)
        if self.clip:
            high = grid.num_steps if self.unit == 'index' else 1.0
            data = np.clip(data, 0.0, high)
            keep = data[:, 1] > data[:, 0]
            data, labels = data[keep], labels[keep]
        results['gt_segments'] = data.reshape(-1, 2)
        results['gt_labels'] = labels
        return results

    def _label(self, ann: dict) -> int:
        label = ann.get('label', 0)
        if self.label_map is not None and label in self.label_map:
            return self.label_map[label]
        if 'label_id' in ann:           # FeatureDataset's class index
            return int(ann['label_id'])
        return int(label)
