"""ActionFormer and TriDet localizers: mmengine wrappers over ``mmloc.models.actionformer``.

``loss``: a padded batch (every video padded to ``max_seq_len``, spec §1.6; TriDet adds
``input_noise``), targets from ``gt_instances.segments`` in grid units (``SegmentsToGrid``
with ``unit='index'``), the registered loss module. ``predict``: each video on its own,
padded as upstream (``max_seq_len``, or the next multiple of ``max_div_factor`` when longer:
outputs depend on the padded length, spec §10.1), decoded per level, the shared
``batched_nms`` in grid units, then seconds through the video's ``TimeGrid`` clipped to
``[0, duration]``. ``tensor``: the raw per-level outputs.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import InstanceData

from mmloc.models.actionformer.blocks import max_div_factor
from mmloc.models.actionformer.checkpoint import upgrade_state_dict_in_place
from mmloc.models.actionformer.decoding import decode_video, trident_offsets
from mmloc.models.actionformer.points import PointGenerator
from mmloc.models.actionformer.targets import assign_points
from mmloc.models.post_processing.nms import batched_nms
from mmloc.models.data_preprocessor import data_preprocessor_or_default
from mmloc.registry import MODELS

DEFAULT_REGRESSION_RANGES = ((0, 4), (4, 8), (8, 16), (16, 32), (32, 64), (64, 10000))
DEFAULT_TEST_CFG = dict(pre_nms_thresh=0.001, pre_nms_topk=2000, duration_thresh=0.05,
                        nms_method='soft', iou_threshold=0.1, min_score=0.001,
                        max_seg_num=200, multiclass_nms=True, nms_sigma=0.5,
                        voting_thresh=0.7)


@MODELS.register_module()
class ActionFormer(BaseModel):
    """ActionFormer (``LocPointTransformer``, spec §2): backbone -> neck -> shared heads.

    Args:
        backbone, neck, cls_head, reg_head, loss: configs of the registered parts.
        num_classes: K (no background channel).
        max_seq_len: training length and inference padding (spec §1.6).
        max_buffer_len_factor: points are pre-computed for ``max_seq_len * factor``.
        regression_ranges: per level, level-0 grid units.
        center_sample, center_sample_radius: label assignment (spec §4.1).
        test_cfg: overrides of ``DEFAULT_TEST_CFG`` (spec §6.4 names).
    """

    voting_weight = 'score_iou'
    div_rule = 'actionformer'

    def __init__(self, backbone: dict, neck: dict, cls_head: dict, reg_head: dict,
                 loss: dict, num_classes: int, max_seq_len: int = 2304,
                 max_buffer_len_factor: float = 6.0,
                 regression_ranges: Sequence = DEFAULT_REGRESSION_RANGES,
                 center_sample: str = 'radius', center_sample_radius: float = 1.5,
                 test_cfg: Optional[dict] = None, data_preprocessor: Optional[dict] = None,
                 init_cfg=None) -> None:
        super().__init__(data_preprocessor=data_preprocessor_or_default(data_preprocessor),
                         init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        self.cls_head = MODELS.build(dict(cls_head, num_classes=num_classes))
        self.reg_head = MODELS.build(reg_head)
        self.loss_module = MODELS.build(loss)
        self.num_classes = int(num_classes)
        self.max_seq_len = int(max_seq_len)
        self.strides = list(self.backbone.strides)
        self.regression_ranges = [tuple(r) for r in regression_ranges]
        if len(self.regression_ranges) != len(self.strides):
            raise ValueError(f'{type(self).__name__}: {len(self.regression_ranges)} regression '
                             f'ranges for {len(self.strides)} pyramid levels')
        self.point_generator = PointGenerator(int(self.max_seq_len * max_buffer_len_factor),
                                              self.strides, self.regression_ranges)
        self.center_sample = center_sample
        self.center_sample_radius = center_sample_radius
        self.test_cfg = dict(DEFAULT_TEST_CFG, **(test_cfg or {}))
        windows = self.backbone.windows
        self.max_div_factor = max_div_factor(self.strides, windows, self.div_rule)
        self._check_lengths(windows)
        self._register_load_state_dict_pre_hook(self._upgrade_upstream_keys)

    def _check_lengths(self, windows) -> None:
        for s, w in zip(self.strides, windows):
            need = s * (w // 2) * 2 if w > 1 else s
            if self.max_seq_len % need:
                raise ValueError(f'ActionFormer: max_seq_len {self.max_seq_len} must be a '
                                 f'multiple of {need} (stride {s}, window {w})')

    @staticmethod
    def _upgrade_upstream_keys(state_dict, prefix, *args) -> None:
        upgrade_state_dict_in_place(state_dict, prefix)

    # ----------------------------------------------------------------- network
    def _network(self, x: torch.Tensor, mask: torch.Tensor) -> Dict[str, List[torch.Tensor]]:
        """x (B, C, T), mask (B, 1, T) -> per level: ``cls`` (B, T_l, K), ``offsets``
        (B, T_l, 2) (TriDet: (B, T_l, K, 2)), ``masks`` (B, T_l), ``points`` (T_l, 4)."""
        feats, masks = self.backbone(x, mask)
        feats, masks = self.neck(feats, masks)
        out = dict(cls=[c.permute(0, 2, 1) for c in self.cls_head(feats, masks)],
                   offsets=self._offsets(feats, masks),
                   masks=[m[:, 0] for m in masks],
                   points=self.point_generator([f.shape[-1] for f in feats]))
        return out

    def _offsets(self, feats, masks) -> List[torch.Tensor]:
        return [o.permute(0, 2, 1) for o in self.reg_head(feats, masks)]

    # ----------------------------------------------------------------- inputs
    def _batch(self, inputs, data_samples):
        """(B, C, T_pad) + (B, T_pad) valid mask from the collated inputs (or a list)."""
        if isinstance(inputs, (list, tuple)):
            lengths = [int(t.shape[-1]) for t in inputs]
            x = inputs[0].new_zeros(len(inputs), inputs[0].shape[0], max(lengths))
            for i, t in enumerate(inputs):
                x[i, :, :lengths[i]] = t
        else:
            x = inputs
            lengths = []
            for s in data_samples or [None] * x.shape[0]:
                if s is not None and 'input_mask' in s:
                    lengths.append(int(s.input_mask.sum()))
                elif s is not None and 'valid_length' in s.metainfo:
                    lengths.append(int(s.metainfo['valid_length']))
                else:
                    lengths.append(int(x.shape[-1]))
        valid = torch.arange(x.shape[-1], device=x.device)[None] < torch.tensor(
            lengths, device=x.device)[:, None]
        # upstream pads with zeros; zeroing here makes any collate pad value equivalent
        return x.float() * valid[:, None].to(torch.float32), valid, lengths

    def inference_length(self, length: int) -> int:
        """Padded length of a video of ``length`` steps at inference (spec §1.6)."""
        if length <= self.max_seq_len:
            return self.max_seq_len
        d = self.max_div_factor
        return -(-length // d) * d

    @staticmethod
    def _pad(x: torch.Tensor, valid: torch.Tensor, length: int):
        extra = length - x.shape[-1]
        if extra < 0:
            raise ValueError(f'input of {x.shape[-1]} steps is longer than {length}')
        return F.pad(x, (0, extra)), F.pad(valid, (0, extra))

    def _prepare_training_batch(self, x: torch.Tensor) -> torch.Tensor:
        return x

    # ----------------------------------------------------------------- forward
    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        x, valid, lengths = self._batch(inputs, data_samples)
        if mode == 'loss':
            if max(lengths) > self.max_seq_len:
                raise ValueError(f'{type(self).__name__}: a training video has {max(lengths)} '
                                 f'steps, more than max_seq_len {self.max_seq_len} (crop it '
                                 'with TruncateFeature)')
            x = x[..., :self.max_seq_len] if x.shape[-1] > self.max_seq_len else x
            valid = valid[..., :x.shape[-1]]
            x, valid = self._pad(x, valid, self.max_seq_len)
            x = self._prepare_training_batch(x)
            return self.loss(x, valid, data_samples)
        if mode == 'predict':
            return self.predict(x, lengths, data_samples)
        if mode == 'tensor':
            return self._network(x, valid[:, None])
        raise ValueError(f'{type(self).__name__}: unknown mode {mode!r}')

    def loss(self, x: torch.Tensor, valid: torch.Tensor, data_samples) -> Dict[str, torch.Tensor]:
        out = self._network(x, valid[:, None])
        points = torch.cat(out['points'])
        cls_t, reg_t = [], []
        for s in data_samples:
            segs = torch.as_tensor(np.asarray(s.gt_instances.segments), dtype=torch.float32,
                                   device=x.device).reshape(-1, 2)
            labels = torch.as_tensor(np.asarray(s.gt_instances.labels), dtype=torch.long,
                                     device=x.device).reshape(-1)
            c, r = assign_points(points, segs, labels, self.num_classes, self.center_sample,
                                 self.center_sample_radius)
            cls_t.append(c)
            reg_t.append(r)
        return self.loss_module(torch.cat(out['cls'], 1), torch.cat(out['offsets'], 1),
                                torch.cat(out['masks'], 1), torch.stack(cls_t),
                                torch.stack(reg_t))

    @torch.no_grad()
    def predict(self, x: torch.Tensor, lengths: List[int], data_samples):
        cfg = self.test_cfg
        for i, s in enumerate(data_samples):
            n = lengths[i]
            xi, vi = self._pad(x[i:i + 1, :, :n], torch.ones(1, n, dtype=torch.bool,
                                                            device=x.device),
                               self.inference_length(n))
            out = self._network(xi, vi[:, None])
            segs, scores, labels = decode_video(
                [c[0] for c in out['cls']], [o[0] for o in out['offsets']],
                [m[0] for m in out['masks']], out['points'],
                pre_nms_thresh=cfg['pre_nms_thresh'], pre_nms_topk=cfg['pre_nms_topk'],
                duration_thresh=cfg['duration_thresh'])
            segs, scores, labels = self._nms(segs.cpu().numpy(), scores.cpu().numpy(),
                                             labels.cpu().numpy())
            grid = s.metainfo.get('time_grid')
            if grid is None:
                raise ValueError(f"{type(self).__name__}: video "
                                 f"{s.metainfo.get('video_name', '?')} has no time_grid "
                                 '(add it to the meta_keys of PackLocalizationInputs)')
            seconds = grid.clip_seconds(grid.index_to_seconds(segs.astype(np.float64)))
            s.pred_instances = InstanceData(
                segments=torch.from_numpy(np.ascontiguousarray(seconds, np.float32)),
                scores=torch.from_numpy(scores.astype(np.float32)),
                labels=torch.from_numpy(labels.astype(np.int64)))
        return data_samples

    def _nms(self, segs: np.ndarray, scores: np.ndarray, labels: np.ndarray):
        cfg = self.test_cfg
        if cfg['nms_method'] == 'none':
            order = np.argsort(-scores, kind='stable')[:cfg['max_seg_num']]
            return segs[order], scores[order], labels[order]
        if cfg['nms_method'] not in ('soft', 'hard'):
            raise ValueError(f"test_cfg.nms_method must be 'soft', 'hard' or 'none', got "
                             f"{cfg['nms_method']!r}")
        return batched_nms(segs, scores, labels, cfg['iou_threshold'], cfg['min_score'],
                           cfg['max_seg_num'], use_soft_nms=cfg['nms_method'] == 'soft',
                           multiclass=cfg['multiclass_nms'], sigma=cfg['nms_sigma'],
                           voting_thresh=cfg['voting_thresh'],
                           voting_weight=self.voting_weight)


@MODELS.register_module()
class TriDet(ActionFormer):
    """TriDet (spec §3): SGP backbone, ActionFormer's classifier, detached start / end heads
    and the Trident regression head (``reg_head.num_bins`` bins), decoded per class.

    Args:
        start_head, end_head: ``ActionFormerClsHead`` configs (``detach_feat=True``).
        input_noise: ``N(0, 1) * input_noise`` added to the padded training batch.
    """

    voting_weight = 'score'
    div_rule = 'tridet'

    def __init__(self, *args, start_head: dict, end_head: dict, input_noise: float = 0.0,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        nc = self.num_classes
        self.start_head = MODELS.build(dict(dict(detach_feat=True), **start_head, num_classes=nc))
        self.end_head = MODELS.build(dict(dict(detach_feat=True), **end_head, num_classes=nc))
        self.num_bins = int(self.reg_head.num_bins)
        if self.num_bins < 1:
            raise ValueError('TriDet: reg_head.num_bins must be >= 1 (the Trident head)')
        self.input_noise = float(input_noise)

    def _check_lengths(self, windows) -> None:   # upstream has no divisibility assertion
        return None

    def _prepare_training_batch(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_noise > 0:
            x = x + torch.randn_like(x) * self.input_noise
        return x

    def _offsets(self, feats, masks) -> List[torch.Tensor]:
        starts = self.start_head(feats, masks)
        ends = self.end_head(feats, masks)
        bins = self.reg_head(feats, masks)
        return [trident_offsets(s.permute(0, 2, 1), e.permute(0, 2, 1), b.permute(0, 2, 1),
                                self.num_bins) for s, e, b in zip(starts, ends, bins)]
