"""SSN localizer (structured segment network, spec §5): a thin module over
``mmloc.models.ssn`` (backbone, STPP, head, post-processing) and ``SSNLoss``.

Inputs per sample (packed by ``PackLocalizationInputs`` with the SSN keys of the configs):
train ``(P * 9, 3, H, W)`` frames or ``(P * 9, C)`` snippet features; test ``(n, ...)`` frames
sampled every ``test_interval``. Proposal assignment and sampling are task modules of the
model (``mmloc.models.task_modules``) that the SSN datasets call.
Predictions: ``pred_instances.segments`` (D, 2) seconds, ``scores`` (D,), ``labels`` (D,)
0-based class ids, sorted by score.
"""
from __future__ import annotations

from typing import List, Optional, Union

import numpy as np
import torch
from mmengine.model import BaseModel
from mmengine.structures import InstanceData
from torch import nn

from mmloc.models.ssn.postprocess import ssn_detections
from mmloc.models.data_preprocessor import data_preprocessor_or_default
from mmloc.registry import MODELS
from mmloc.structures import Segments, TimeGrid


@MODELS.register_module()
class SSN(BaseModel):
    """Args:
        backbone: ``SSNResNet`` (frames) or ``SSNFeatureMLP`` (features) config.
        cls_head: ``SSNHead`` config. loss: ``SSNLoss`` config.
        dropout_ratio: dropout on per-frame features before the head (0.x: 0.8).
        test_cfg: ``top_k`` (2000), ``nms`` IoU (0.2), ``use_regression`` (True),
            ``batch_size``: frames per backbone chunk at test time, ``zero_length``:
            ``'drop'`` (default), ``'mmaction2_0x'`` or ``'keep'`` (see
            ``mmloc.models.ssn.postprocess``).
    """

    def __init__(self, backbone: dict, cls_head: dict, loss: Optional[dict] = None,
                 dropout_ratio: float = 0.8, test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor_or_default(data_preprocessor),
                         init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.cls_head = MODELS.build(cls_head)
        self.loss_module = MODELS.build(loss or dict(type='SSNLoss'))
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio > 0 else nn.Identity()
        self.test_cfg = dict(dict(top_k=2000, nms=0.2, use_regression=True, batch_size=64,
                                  zero_length='drop'),
                             **(test_cfg or {}))
        # 0.x checkpoints saved after testing carry the derived ``cls_head.test_fc``; we
        # rebuild it from the three classifiers, so strict loading simply drops it.
        self._register_load_state_dict_pre_hook(self._drop_test_fc)

    @staticmethod
    def _drop_test_fc(state_dict, prefix, *args):
        for key in [k for k in state_dict if k.startswith(prefix + 'cls_head.test_fc.')]:
            del state_dict[key]

    def extract_feat(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) or (N, C) -> (N, D) per-frame features (spatial average pooling).

        Pooling is 0.x's ``AvgPool2d(7, stride=1)`` over the 7 x 7 map of a 224 crop (the
        same op, so the same rounding as ``mean``, which differs by ~1e-4); other crop sizes
        pool their whole map.
        """
        x = self.backbone(x)
        if x.dim() == 4:
            x = nn.functional.avg_pool2d(x, kernel_size=x.shape[-2:], stride=1).flatten(1)
        return x

    @staticmethod
    def _cat(inputs: Union[torch.Tensor, List[torch.Tensor]], num_samples: int) -> torch.Tensor:
        """Per-sample ``(N_i, ...)`` inputs -> ``(sum N_i, ...)``: a list (``pseudo_collate``)
        is concatenated, a stacked ``(B, N, C)`` / ``(B, N, 3, H, W)`` batch
        (``localization_collate``) flattened, an already concatenated tensor kept."""
        if isinstance(inputs, (list, tuple)):
            return torch.cat(list(inputs))
        if inputs.dim() in (3, 5) and inputs.shape[0] == num_samples:
            return inputs.flatten(0, 1)
        return inputs

    def _train_outputs(self, inputs, data_samples):
        x = self.dropout(self.extract_feat(self._cat(inputs, len(data_samples))))
        sf = torch.cat([s.proposals.scale_factors for s in data_samples]).to(x)
        return self.cls_head(x, sf)

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            if data_samples is None:
                raise ValueError('SSN tensor mode needs data_samples (proposal scale factors)')
            return self._train_outputs(inputs, data_samples)
        raise ValueError(f'SSN: unknown mode {mode!r}')

    def loss(self, inputs, data_samples) -> dict:
        activity, completeness, bbox = self._train_outputs(inputs, data_samples)
        cat = lambda name: torch.cat([getattr(s.proposals, name) for s in data_samples])  # noqa
        return self.loss_module(activity, completeness, bbox, cat('types').to(activity.device),
                                cat('labels').to(activity.device),
                                cat('reg_targets').to(activity))

    @torch.no_grad()
    def predict_video(self, frames: torch.Tensor, ticks: torch.Tensor,
                      scale_factors: torch.Tensor, reg_norm_consts) -> tuple:
        """Raw per-proposal outputs of one video.

        Returns activity (P, K+1), completeness (P, K) and de-normalised bbox (P, K, 2) or
        None, all numpy.
        """
        bs = int(self.test_cfg['batch_size'])
        feats = torch.cat([self.extract_feat(frames[i:i + bs])
                           for i in range(0, len(frames), bs)])
        scores = self.cls_head.frame_scores(feats)
        act, comp, bbox = self.cls_head.forward_test(scores, ticks.to(scores.device),
                                                     scale_factors.to(scores))
        if bbox is not None:
            c = torch.as_tensor(np.asarray(reg_norm_consts), dtype=bbox.dtype,
                                device=bbox.device)
            bbox = bbox * c[1] + c[0]
            bbox = bbox.cpu().numpy()
        return act.cpu().numpy(), comp.cpu().numpy(), bbox

    @staticmethod
    def _time_grid(meta: dict) -> TimeGrid:
        """The video's frame grid: ``time_grid`` of the SSN datasets, else one frame grid
        over ``duration_second`` (relative -> seconds is ``u * duration_second`` on either)."""
        if meta.get('time_grid') is not None:
            return meta['time_grid']
        return TimeGrid.from_frames(int(meta.get('total_frames', 1)), meta['duration_second'])

    def predict(self, inputs, data_samples) -> list:
        frames = inputs if isinstance(inputs, (list, tuple)) else list(inputs)
        for x, sample in zip(frames, data_samples):
            props = sample.proposals
            act, comp, bbox = self.predict_video(x, props.ticks, props.scale_factors,
                                                 sample.metainfo['reg_norm_consts'])
            seg, score, label = ssn_detections(
                props.segments.cpu().numpy(), act, comp, bbox, self.test_cfg['top_k'],
                self.test_cfg['nms'], self.test_cfg['use_regression'],
                zero_length=self.test_cfg['zero_length'])
            seg_s = Segments(seg, 'normalised').to('second', self._time_grid(sample.metainfo))
            pred = InstanceData()
            pred.segments = torch.from_numpy(seg_s.numpy()).float()
            pred.scores = torch.from_numpy(score).float()
            pred.labels = torch.from_numpy(label)
            sample.pred_instances = pred
        return list(data_samples)
