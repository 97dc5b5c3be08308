"""The one pack transform: transform results -> ``inputs`` + ``LocalizationDataSample``.

Every method's pipeline ends with :class:`PackLocalizationInputs`; what goes where is the
single table :data:`FIELD_ROUTES` (result key -> data-sample field), documented in
``docs/design.md``. Batching is :func:`mmloc.datasets.collate.localization_collate`.
"""
from __future__ import annotations

import warnings
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import InstanceData

from mmloc.registry import TRANSFORMS
from mmloc.structures import LocalizationDataSample

#: result key -> (container, field). ``gt`` = ``data_sample.gt_instances``, ``proposals`` =
#: ``data_sample.proposals``, ``sample`` = a data field of the data sample itself.
FIELD_ROUTES: Dict[str, Tuple[str, str]] = {
    # ground truth, in the unit the model trains in (normalised, grid index, ...)
    'gt_segments': ('gt', 'segments'),
    'gt_labels': ('gt', 'labels'),
    # proposals of two-stage methods and their features
    'proposals': ('proposals', 'segments'),
    'proposal_segments': ('proposals', 'segments'),
    'tmin': ('proposals', 'tmin'),
    'tmax': ('proposals', 'tmax'),
    'tmin_score': ('proposals', 'tmin_score'),
    'tmax_score': ('proposals', 'tmax_score'),
    'bsp_feature': ('proposals', 'features'),
    'reference_temporal_iou': ('proposals', 'reference_temporal_iou'),
    'proposal_labels': ('proposals', 'labels'),
    'proposal_type': ('proposals', 'types'),
    'reg_targets': ('proposals', 'reg_targets'),
    'proposal_scale_factor': ('proposals', 'scale_factors'),
    'relative_proposals': ('proposals', 'segments'),
    'proposal_ticks': ('proposals', 'ticks'),
    # per-position training targets and auxiliary inputs
    'start_labels': ('sample', 'start_labels'),
    'end_labels': ('sample', 'end_labels'),
    'ssl_imgs': ('sample', 'ssl_inputs'),
    'ssl_segments': ('sample', 'ssl_segments'),
}

#: MMAction2 names kept loading: old key -> new key (deprecation warning once).
DEPRECATED_KEYS = {'gt_bbox': 'gt_segments'}

#: where the model input is found, first present wins.
INPUT_KEYS = ('raw_feature', 'imgs', 'inputs')

_warned: set = set()


def to_tensor(value) -> torch.Tensor:
    """numpy / sequence / tensor -> tensor (numpy memory is shared when contiguous)."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    return torch.as_tensor(value)


def _frames_to_input(imgs: np.ndarray) -> torch.Tensor:
    """Time-first ``imgs``: (T, H, W, C) frames -> (C, T, H, W); (T, C) features -> (C, T)
    float32."""
    arr = np.ascontiguousarray(imgs)
    if arr.ndim == 4:
        return torch.from_numpy(np.ascontiguousarray(arr.transpose(3, 0, 1, 2)))
    return torch.from_numpy(np.ascontiguousarray(arr.T.astype(np.float32)))


def _as_field(key: str, value) -> torch.Tensor:
    if key in ('ssl_imgs', ):
        return _frames_to_input(value)
    return to_tensor(value)


@TRANSFORMS.register_module()
class PackLocalizationInputs(BaseTransform):
    """Pack the model input and the listed result keys into one data sample.

    * ``inputs``: the first of ``raw_feature`` ((C, T) features), ``imgs`` (time-first
      frames (T, H, W, C) or features (T, C), turned channels-first) and ``inputs`` (as
      is). When none exists (BSN PEM works on ``bsp_feature`` alone) it is a 0-d tensor.
    * Each present key of ``keys`` goes where :data:`FIELD_ROUTES` says; ``None`` packs
      every routed key that is present. ``gt_bbox`` (MMAction2's name) loads as
      ``gt_segments`` with a deprecation warning. A key that has no route is an error.
    * Metainfo: the present ``meta_keys``, plus ``time_grid`` whenever it exists and
      ``valid_length`` (T) for a ``raw_feature`` (C, T) input, the inputs that
      ``localization_collate`` pads.

    Args:
        keys: result keys to pack (``None``: every routed key present).
        meta_keys: result keys copied into the metainfo.
    """

    def __init__(self, keys: Optional[Sequence[str]] = None,
                 meta_keys: Sequence[str] = ('video_name',)) -> None:
        if keys is not None:
            keys = tuple(keys)
            for key in keys:
                if key not in FIELD_ROUTES and key not in DEPRECATED_KEYS:
                    raise KeyError(f'PackLocalizationInputs: unknown key {key!r}; known keys: '
                                   f'{sorted(FIELD_ROUTES)}')
        self.keys = keys
        self.meta_keys = tuple(meta_keys)

    def _input(self, results: dict) -> torch.Tensor:
        for key in INPUT_KEYS:
            if key in results:
                value = results[key]
                return _frames_to_input(value) if key == 'imgs' else to_tensor(value)
        if 'bsp_feature' in results:
            return torch.tensor(0.)
        raise ValueError('PackLocalizationInputs: results hold none of '
                         f'{INPUT_KEYS + ("bsp_feature",)} (keys: {sorted(results)})')

    def transform(self, results: dict) -> dict:
        results = dict(results)
        for old, new in DEPRECATED_KEYS.items():
            if old in results and new not in results:
                results[new] = results[old]
        keys = self.keys if self.keys is not None else tuple(FIELD_ROUTES)
        keys = tuple(self._renamed(k) for k in keys)
        inputs = self._input(results)
        sample = LocalizationDataSample()
        gt, proposals = InstanceData(), InstanceData()
        for key in keys:
            if key not in results:
                continue
            where, name = FIELD_ROUTES[key]
            value = _as_field(key, results[key])
            if where == 'gt':
                gt[name] = value
            elif where == 'proposals':
                proposals[name] = value
            else:
                sample.set_field(value, name)
        sample.gt_instances = gt
        if len(proposals.keys()):
            sample.proposals = proposals
        meta = {k: results[k] for k in self.meta_keys if k in results}
        if 'time_grid' in results:
            meta['time_grid'] = results['time_grid']
        if 'raw_feature' in results:   # a (C, T) feature sequence: collate may pad it
            meta['valid_length'] = int(results.get('valid_length', inputs.shape[-1]))
        sample.set_metainfo(meta)
        return {'inputs': inputs, 'data_samples': sample}

    @staticmethod
    def _renamed(key: str) -> str:
        new = DEPRECATED_KEYS.get(key)
        if new is None:
            return key
        if key not in _warned:
            _warned.add(key)
            warnings.warn(f'PackLocalizationInputs: key {key!r} is deprecated, use {new!r} '
                          f'(data_sample.gt_instances.segments)', FutureWarning)
        return new

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(keys={self.keys}, meta_keys={self.meta_keys})'
