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


def standardize_feature(feat: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Each channel of a (C, T) sequence minus its mean over T, divided by its std over T
    (``eps`` keeps a constant channel at zero); float32 (C, T), a new array."""
    feat = np.asarray(feat, np.float32)
    mean = feat.mean(axis=1, keepdims=True)
    std = feat.std(axis=1, keepdims=True)
    return ((feat - mean) / (std + eps)).astype(np.float32)


@TRANSFORMS.register_module()
class StandardizeFeature(BaseTransform):
    """Standardise ``raw_feature`` (C, T) per channel over the video's own T positions.

    For features whose scale says nothing: a randomly initialised extractor's (e.g.
    ``configs/extractors/tiny3d_rgb_demo.py``) are a near-constant vector around 1e-2 whose
    per-snippet changes are a few per cent of it, too small for a localizer's first conv to
    see; standardised, they are what the model can learn from. Trained extractors' features
    (I3D, TSN, ...) are used as they are, as upstream does.
    """

    def __init__(self, eps: float = 1e-6) -> None:
        self.eps = float(eps)

    def transform(self, results: dict) -> dict:
        results['raw_feature'] = standardize_feature(results['raw_feature'], self.eps)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(eps={self.eps})'


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
        single_class: every label becomes 0 (class-agnostic training, ActionFormer's
            ActivityNet with ``num_classes=1``; evaluation keeps the real classes).
    """

    def __init__(self, unit: str = 'index', clip: bool = True,
                 label_map: Optional[dict] = None, single_class: bool = False) -> None:
        self.unit = unit
        self.clip = clip
        self.label_map = label_map
        self.single_class = single_class

    def transform(self, results: dict) -> dict:
        grid = results.get('time_grid')
        if grid is None:
            raise KeyError(f"SegmentsToGrid: video {results.get('video_name', '?')}: no "
                           'time_grid in the results (FeatureDataset builds one from fps and '
                           'feat_stride)')
        anns = results.get('annotations', [])
        seg = Segments([a['segment'] for a in anns], 'second').to(self.unit, grid)
        labels = np.array([0 if self.single_class else self._label(a) for a in anns],
                          dtype=np.int64)
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


def _grid_offset(results: dict) -> float:
    """``off = offset_frames / stride_frames`` of the results' grid (actionformer-spec §1.3)."""
    grid = results.get('time_grid')
    if grid is None:
        raise KeyError(f"video {results.get('video_name', '?')}: no time_grid in the results")
    return float(grid.offset_frames) / float(grid.stride_frames)


@TRANSFORMS.register_module()
class TruncateFeature(BaseTransform):
    """ActionFormer / TriDet's training crop (``truncate_feats``, actionformer-spec §1.4).

    Runs after :class:`SegmentsToGrid` (``unit='index'``, ``clip=False``) on
    ``raw_feature`` (C, T), ``gt_segments`` (N, 2) grid units, ``gt_labels`` (N,) and the
    time grid. Videos without GT are left as they are.

    1. ``T <= max_length``: with ``crop_ratio = (lo, hi)`` draw
       ``L = randint(max(round(lo*T), 1), min(round(hi*T), T))``; ``L == T`` (or no
       ``crop_ratio``) returns the video unchanged. ``T > max_length``: ``L = max_length``.
    2. Up to ``max_trials`` windows ``[st, st + L)``, ``st = randint(0, T - L)``: each GT is
       clipped to the window (``clip='widened'``: ActionFormer's window widened by the
       grid's ``off`` on both sides; ``'window'``: TriDet's window itself) and kept when
       the clipped share of it is ``>= trunc_thresh``. The first window keeping a GT wins;
       otherwise the last one is used (possibly without GT).
    3. The features, the kept GT (``[left - st, right - st]``) and the grid are cropped.

    Random numbers come from Python's ``random`` as upstream (mmengine seeds it, and each
    dataloader worker).
    """

    def __init__(self, max_length: int, trunc_thresh: float = 0.5, crop_ratio=None,
                 clip: str = 'widened', max_trials: int = 200) -> None:
        if clip not in ('widened', 'window'):
            raise ValueError(f"TruncateFeature: clip must be 'widened' or 'window', got {clip!r}")
        if crop_ratio is not None and len(crop_ratio) != 2:
            raise ValueError(f'TruncateFeature: crop_ratio must be (lo, hi), got {crop_ratio!r}')
        self.max_length = int(max_length)
        self.trunc_thresh = float(trunc_thresh)
        self.crop_ratio = None if crop_ratio is None else tuple(float(r) for r in crop_ratio)
        self.clip = clip
        self.max_trials = int(max_trials)

    def transform(self, results: dict) -> dict:
        import random
        feat = results['raw_feature']
        segs = np.asarray(results.get('gt_segments', np.zeros((0, 2))), np.float32).reshape(-1, 2)
        if len(segs) == 0:
            return results
        length = feat.shape[1]
        if length <= self.max_length:
            if self.crop_ratio is None:
                return results
            lo = max(round(self.crop_ratio[0] * length), 1)
            hi = min(round(self.crop_ratio[1] * length), length)
            crop_len = random.randint(lo, hi)
            if crop_len == length:
                return results
        else:
            crop_len = self.max_length
        off = _grid_offset(results) if self.clip == 'widened' else 0.0
        lengths = np.abs(segs[:, 1] - segs[:, 0])
        for _ in range(self.max_trials):
            st = random.randint(0, length - crop_len)
            ed = st + crop_len
            left = np.maximum(np.float32(st - off), segs[:, 0])
            right = np.minimum(np.float32(ed + off), segs[:, 1])
            with np.errstate(divide='ignore', invalid='ignore'):
                ratio = np.maximum(right - left, 0) / lengths
            keep = ratio >= self.trunc_thresh
            if keep.any():
                break
        results['raw_feature'] = feat[:, st:ed]
        results['gt_segments'] = (np.stack([left, right], 1)[keep] - np.float32(st)).astype(
            np.float32).reshape(-1, 2)
        results['gt_labels'] = np.asarray(results['gt_labels'])[keep]
        if 'time_grid' in results:
            results['time_grid'] = results['time_grid'].cropped(st, crop_len)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(max_length={self.max_length}, trunc_thresh='
                f'{self.trunc_thresh}, crop_ratio={self.crop_ratio}, clip={self.clip!r})')


@TRANSFORMS.register_module()
class ClipSegmentsToFeature(BaseTransform):
    """ActivityNet's training GT filter (actionformer-spec §1.4, last paragraph).

    With ``end = T + off`` (the grid's ``off``; T after any resize): GT starting at or after
    ``end`` is dropped, GT whose share before ``end`` is below ``trunc_thresh`` is dropped,
    the rest is clamped to ``<= end``. Runs after :class:`SegmentsToGrid` (``clip=False``).
    """

    def __init__(self, trunc_thresh: float = 0.5) -> None:
        self.trunc_thresh = float(trunc_thresh)

    def transform(self, results: dict) -> dict:
        segs = np.asarray(results.get('gt_segments', np.zeros((0, 2))), np.float32).reshape(-1, 2)
        end = np.float32(results['raw_feature'].shape[1] + _grid_offset(results))
        with np.errstate(divide='ignore', invalid='ignore'):
            share = (np.minimum(segs[:, 1], end) - segs[:, 0]) / (segs[:, 1] - segs[:, 0])
        keep = (segs[:, 0] < end) & (share >= self.trunc_thresh)
        out = segs[keep].copy()
        out[:, 1] = np.minimum(out[:, 1], end)
        results['gt_segments'] = out
        results['gt_labels'] = np.asarray(results.get('gt_labels', np.zeros(0, np.int64)))[keep]
        return results
