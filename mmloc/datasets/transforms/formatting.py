"""Packing transform results into ``inputs`` + ``LocalizationDataSample``."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import InstanceData

from mmloc.registry import TRANSFORMS
from mmloc.structures import LocalizationDataSample


def _to_tensor(value) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    return torch.as_tensor(value)


@TRANSFORMS.register_module()
class PackLocalizationInputs(BaseTransform):
    """Pack ``raw_feature`` and selected keys (MMAction2 semantics, spec §2.2).

    ``inputs`` is ``raw_feature`` (C, T) as a tensor; when only ``bsp_feature`` exists
    (BSN PEM) it is a dummy 0-d tensor. Each present key of ``keys`` becomes a field of
    ``data_sample.gt_instances`` (``proposals`` goes to ``data_sample.proposals``);
    absent keys are skipped. Metainfo holds the present ``meta_keys``.
    """

    def __init__(self, keys: Sequence[str] = (), meta_keys: Sequence[str] = ('video_name',)):
        self.keys = tuple(keys)
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        if 'raw_feature' in results:
            inputs = _to_tensor(results['raw_feature'])
        elif 'bsp_feature' in results:
            inputs = torch.tensor(0.)
        else:
            raise ValueError('PackLocalizationInputs: results hold neither "raw_feature" nor '
                             f'"bsp_feature" (keys: {sorted(results)})')
        data_sample = LocalizationDataSample()
        gt = InstanceData()
        for key in self.keys:
            if key not in results:
                continue
            if key == 'proposals':
                data_sample.proposals = InstanceData(proposals=_to_tensor(results[key]))
            else:
                gt[key] = _to_tensor(results[key])
        data_sample.gt_instances = gt
        data_sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        return {'inputs': inputs, 'data_samples': data_sample}

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(keys={self.keys}, meta_keys={self.meta_keys})'
