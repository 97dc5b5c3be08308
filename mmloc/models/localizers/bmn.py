"""BMN: Boundary-Matching Network (spec §3), with the fused sparse BM layer by default.

Parameter names and shapes equal MMAction2's (``x_1d_b.0``, ..., ``x_3d_p.0``,
``x_2d_p.{0,2,4,6}``), so MMAction2 checkpoints load with ``strict=True``. The
sampling mask and ``bm_mask`` are constants regenerated from the config and are not
saved; their keys in MMAction2 checkpoints (1.x: both, 0.x: ``sample_mask`` only)
are shape-checked and dropped on load.
"""
from __future__ import annotations

import functools
import warnings
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.structures import InstanceData

from mmloc.models.data_preprocessor import data_preprocessor_or_default
from mmloc.registry import MODELS
from mmloc.structures import TimeGrid
from ..layers import (BMBagIndex, band_plan, banded_conv_stack, bm_bag_index, bm_bag_tensors,
                      bm_dense_mask, bm_sparse_mask, bm_valid_mask, check_banded_stack,
                      dense_bm_layer, fused_bm_cells, fused_bm_conv3d, stair_cells,
                      stair_grids)
from ..utils import bmn_labels, post_processing


@functools.lru_cache(maxsize=8)
def _bm_triangle(T: int) -> tuple:
    """The BM map's valid cells ``e = s + d + 1 < T`` of a T-snippet video, in (d, s) row-major
    order: ``s``, ``e`` (K,) int64 snippet indices, ``flat`` (K,) ``d * T + s`` into a (T, T)
    map, and ``s / T``, ``e / T`` (K,) float64. Read-only, cached per T."""
    d, s = np.meshgrid(np.arange(T), np.arange(T), indexing='ij')
    e = s + d + 1
    ok = e < T
    out = (s[ok], e[ok], (d * T + s)[ok], s[ok] / T, e[ok] / T)
    for arr in out:
        arr.setflags(write=False)
    return out


def bmn_candidates(start: np.ndarray, end: np.ndarray, bm_cls: np.ndarray,
                   bm_reg: np.ndarray) -> np.ndarray:
    """Boundary candidates and score fusion of one video (spec §3.7), vectorised.

    Args:
        start, end: (T,) boundary probabilities.
        bm_cls, bm_reg: (T(d), T(s)) classification / regression confidence maps.

    Returns:
        (K, 7) float64 rows ``[s/T, e/T, start[s], end[e], cls[d,s], reg[d,s], score]``
        with ``e = s + d + 1 < T``, ``start`` index s a candidate start and e a
        candidate end, in (d, s) row-major order; ``score`` is the float32
        product ``start * end * cls * reg``.
    """
    T = start.shape[0]
    start = np.asarray(start, dtype=np.float32)
    end = np.asarray(end, dtype=np.float32)

    def _bins(x: np.ndarray, forced: int) -> np.ndarray:
        bins = np.zeros(T, dtype=bool)
        bins[forced] = True
        mid = x[1:-1]
        peak = (mid > x[2:]) & (mid > x[:-2])
        bins[1:-1] |= peak | (mid > 0.5 * x.max())
        return bins

    s, e, flat, s_norm, e_norm = _bm_triangle(T)
    ok = _bins(start, 0)[s] & _bins(end, T - 1)[e]
    s, e, flat = s[ok], e[ok], flat[ok]
    out = np.empty((len(s), 7), np.float64)
    out[:, 0], out[:, 1] = s_norm[ok], e_norm[ok]
    tmin_score, tmax_score = start[s], end[e]
    cls = np.asarray(bm_cls, dtype=np.float32).reshape(-1)[flat]
    reg = np.asarray(bm_reg, dtype=np.float32).reshape(-1)[flat]
    out[:, 2], out[:, 3], out[:, 4], out[:, 5] = tmin_score, tmax_score, cls, reg
    out[:, 6] = tmin_score * tmax_score * cls * reg         # float32, same order as MMAction2
    return out


@MODELS.register_module()
class BMN(BaseModel):
    """Boundary-Matching Network for temporal action proposal generation.

    Args:
        temporal_dim: T, feature positions per video.
        boundary_ratio: context ratio of the BM sampling.
        num_samples: N, bins per proposal in the BM layer.
        num_samples_per_bin: P, interpolated points per bin.
        feat_dim: C, input feature channels (divisible by 4).
        soft_nms_alpha, soft_nms_low_threshold, soft_nms_high_threshold: Soft-NMS.
        post_process_top_k: proposals kept per video.
        feature_extraction_interval: frames per snippet, for output seconds.
        loss: config of BMN's whole training loss (``BMNLoss``: TEM + PEM regression +
            PEM classification).
        hidden_dim_1d, hidden_dim_2d, hidden_dim_3d: channel widths.
        bm_layer: ``'fused'`` (sparse sampling fused with the Conv3d, default) or
            ``'dense'`` (MMAction2's dense mask + Conv3d, for verification).
        bm_region: which cells of the BM map the 2-D head (``x_2d_p``) computes.
            ``'full'``: all T x T, as MMAction2. ``'valid'``: only what the valid cells
            ``s + d <= T - 1`` read (:func:`~mmloc.models.layers.banded_conv_stack`), about
            60 % of the step's FLOPs; valid cells are the same numbers (up to float
            summation order), the other cells come out as 0. ``'auto'`` (default):
            ``'valid'`` in the training loss whenever the loss reads no cell outside
            ``bm_mask`` for that batch (``BMNLoss.reads_invalid_cells``; then loss and
            gradients equal the full map's), ``'full'`` otherwise and in every other mode, so
            inference and export give MMAction2's whole map.
        bm_region_bands: bands along d of the ``'valid'`` computation.
        data_preprocessor, init_cfg: as in mmengine's ``BaseModel``.
        loss_cls: deprecated name of ``loss`` (MMAction2 configs use it); it holds the whole
            loss, not a classification term.
    """

    def __init__(self,
                 temporal_dim: int,
                 boundary_ratio: float,
                 num_samples: int,
                 num_samples_per_bin: int,
                 feat_dim: int,
                 soft_nms_alpha: float,
                 soft_nms_low_threshold: float,
                 soft_nms_high_threshold: float,
                 post_process_top_k: int,
                 feature_extraction_interval: int = 16,
                 loss: Optional[dict] = None,
                 hidden_dim_1d: int = 256,
                 hidden_dim_2d: int = 128,
                 hidden_dim_3d: int = 512,
                 bm_layer: str = 'fused',
                 bm_region: str = 'auto',
                 bm_region_bands: int = 8,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 loss_cls: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor_or_default(data_preprocessor),
                         init_cfg=init_cfg)
        if loss_cls is not None:
            if loss is not None:
                raise ValueError('BMN: give loss (loss_cls is its deprecated name), not both')
            warnings.warn("BMN: the argument loss_cls is deprecated (it is BMN's whole loss); "
                          'name it loss', FutureWarning, stacklevel=2)
            loss = loss_cls
        if bm_layer not in ('fused', 'dense'):
            raise ValueError(f"BMN: bm_layer must be 'fused' or 'dense', got {bm_layer!r}")
        if bm_region not in ('auto', 'valid', 'full'):
            raise ValueError(f"BMN: bm_region must be 'auto', 'valid' or 'full', got {bm_region!r}")
        if feat_dim % 4 or hidden_dim_1d % 4:
            raise ValueError(f'BMN: feat_dim ({feat_dim}) and hidden_dim_1d ({hidden_dim_1d}) '
                             'must be divisible by 4 (grouped Conv1d with groups=4)')
        self.temporal_dim = temporal_dim
        self.boundary_ratio = boundary_ratio
        self.num_samples = num_samples
        self.num_samples_per_bin = num_samples_per_bin
        self.feat_dim = feat_dim
        self.soft_nms_alpha = soft_nms_alpha
        self.soft_nms_low_threshold = soft_nms_low_threshold
        self.soft_nms_high_threshold = soft_nms_high_threshold
        self.post_process_top_k = post_process_top_k
        self.feature_extraction_interval = feature_extraction_interval
        self.bm_layer = bm_layer
        self.bm_region = bm_region
        self.loss_module = MODELS.build(loss if loss is not None else dict(type='BMNLoss'))
        self.hidden_dim_1d = hidden_dim_1d
        self.hidden_dim_2d = hidden_dim_2d
        self.hidden_dim_3d = hidden_dim_3d

        h1 = hidden_dim_1d
        self.x_1d_b = nn.Sequential(
            nn.Conv1d(feat_dim, h1, kernel_size=3, padding=1, groups=4), nn.ReLU(inplace=True),
            nn.Conv1d(h1, h1, kernel_size=3, padding=1, groups=4), nn.ReLU(inplace=True))
        self.x_1d_s = nn.Sequential(
            nn.Conv1d(h1, h1, kernel_size=3, padding=1, groups=4), nn.ReLU(inplace=True),
            nn.Conv1d(h1, 1, kernel_size=1), nn.Sigmoid())
        self.x_1d_e = nn.Sequential(
            nn.Conv1d(h1, h1, kernel_size=3, padding=1, groups=4), nn.ReLU(inplace=True),
            nn.Conv1d(h1, 1, kernel_size=1), nn.Sigmoid())
        self.x_1d_p = nn.Sequential(
            nn.Conv1d(h1, h1, kernel_size=3, padding=1), nn.ReLU(inplace=True))
        self.x_3d_p = nn.Sequential(
            nn.Conv3d(h1, hidden_dim_3d, kernel_size=(num_samples, 1, 1)),
            nn.ReLU(inplace=True))
        self.x_2d_p = nn.Sequential(
            nn.Conv2d(hidden_dim_3d, hidden_dim_2d, kernel_size=1), nn.ReLU(inplace=True),
            nn.Conv2d(hidden_dim_2d, hidden_dim_2d, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden_dim_2d, hidden_dim_2d, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden_dim_2d, 2, kernel_size=1), nn.Sigmoid())
        self._band_plan = band_plan(temporal_dim, check_banded_stack(self.x_2d_p),
                                    min(int(bm_region_bands), temporal_dim))
        self._banded_head = [self.x_3d_p[1], *self.x_2d_p]   # Conv3d's ReLU first

        # Constants, rebuilt from the config and never saved (persistent=False).
        self.register_buffer('bm_mask', torch.from_numpy(bm_valid_mask(temporal_dim)),
                             persistent=False)
        sparse = bm_sparse_mask(temporal_dim, num_samples, num_samples_per_bin, boundary_ratio)
        if bm_layer == 'fused':
            self._register_bag_index('bm', bm_bag_index(sparse))
            if bm_region != 'full':
                # only the cells the banded head reads
                self._register_bag_index('bm_band',
                                         bm_bag_index(sparse, stair_cells(self._band_plan)))
                for k, grid in enumerate(stair_grids(self._band_plan)):
                    self.register_buffer(f'bm_band_grid_{k}', grid, persistent=False)
        else:
            mask = bm_dense_mask(temporal_dim, num_samples, num_samples_per_bin,
                                 boundary_ratio)
            self.register_buffer('sample_mask', torch.from_numpy(mask), persistent=False)

    def _register_bag_index(self, prefix: str, index: BMBagIndex) -> None:
        # non-persistent buffers: they follow .to(device) and are never saved
        for name, value in bm_bag_tensors(index).items():
            self.register_buffer(f'{prefix}_{name}', value, persistent=False)

    @property
    def tscale(self) -> int:
        """:attr:`temporal_dim` under MMAction2's attribute name (read-only), for code written
        against MMAction2's BMN."""
        return self.temporal_dim

    # ------------------------------------------------------------------ checkpoints
    def _constant_shapes(self) -> dict:
        T, N = self.temporal_dim, self.num_samples
        return {'sample_mask': (T, N * T * T), 'bm_mask': (T, T)}

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        # MMAction2 checkpoints carry the constant masks (1.x both, 0.x sample_mask only):
        # check them against our config, then drop them; ours are regenerated.
        for name, expected in self._constant_shapes().items():
            key = prefix + name
            if key in state_dict:
                shape = tuple(state_dict[key].shape)
                if shape != expected:
                    raise ValueError(
                        f'BMN checkpoint: {key} has shape {shape}, but the config '
                        f'(temporal_dim={self.temporal_dim}, num_samples={self.num_samples}) '
                        f'expects {expected}; the checkpoint was trained with another '
                        'temporal_dim / num_samples')
                state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs)

    # ------------------------------------------------------------------ network
    def _stack_inputs(self, inputs: Union[torch.Tensor, Sequence[torch.Tensor]]) -> torch.Tensor:
        x = torch.stack(list(inputs)) if isinstance(inputs, (list, tuple)) else inputs
        if x.dim() != 3 or x.shape[1] != self.feat_dim or x.shape[2] != self.temporal_dim:
            raise ValueError(f'BMN: expected inputs of shape (B, {self.feat_dim}, '
                             f'{self.temporal_dim}) (feat_dim, temporal_dim), got {tuple(x.shape)}')
        return x

    def _forward(self, x: torch.Tensor, valid_only: Optional[bool] = None) -> tuple:
        """(B, C, T) -> ``bm`` (B, 2, T(d), T(s)), ``start`` (B, T), ``end`` (B, T).

        ``valid_only``: compute the 2-D head on the valid triangle only (None: only if
        ``bm_region='valid'``).
        """
        base = self.x_1d_b(x)
        start = self.x_1d_s(base).squeeze(1)
        end = self.x_1d_e(base).squeeze(1)
        feat = self.x_1d_p(base)
        conv3d = self.x_3d_p[0]
        banded = self.bm_region == 'valid' if valid_only is None else valid_only
        if self.bm_layer == 'fused':
            # x_3d_p[1] (ReLU) is applied inside, on the contiguous rows
            prefix = 'bm_band' if banded else 'bm'
            index = {name: getattr(self, f'{prefix}_{name}') for name in BMBagIndex._fields}
            if banded:       # (B, M, O) rows of only the cells the head reads; the head
                # applies the ReLU (fused with its first layer)
                bm = fused_bm_cells(feat, conv3d.weight, conv3d.bias, index,
                                    relu=False).view(x.shape[0], -1, conv3d.out_channels)
            else:
                bm = fused_bm_conv3d(feat, conv3d.weight, conv3d.bias, index, relu=True)
        else:
            bm = dense_bm_layer(feat, self.sample_mask, self.num_samples)
            bm = self.x_3d_p(bm).squeeze(2)
        if banded:
            grids = [getattr(self, f'bm_band_grid_{k}')
                     for k in range(len(self._band_plan.edges) - 1)] if bm.dim() == 3 else None
            head = self._banded_head if bm.dim() == 3 else self.x_2d_p
            # the BM rows are this forward's own: their backward may reuse them
            return banded_conv_stack(bm, head, self._band_plan, grids,
                                     consume_rows=bm.dim() == 3), start, end
        return self.x_2d_p(bm), start, end

    def _loss_valid_only(self, gt_iou_map: torch.Tensor) -> bool:
        """Whether the training forward may skip the cells outside ``bm_mask``."""
        if self.bm_region != 'auto':
            return self.bm_region == 'valid'
        # only if the loss says this batch reads none of them (MMAction2's PEM regression
        # sampling can select every cell, see pem_reg_loss)
        reads = getattr(self.loss_module, 'reads_invalid_cells', None)
        return (reads is not None and torch.is_grad_enabled() and not torch.jit.is_tracing()
                and not reads(gt_iou_map, self.bm_mask))

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        x = self._stack_inputs(inputs)
        if mode == 'tensor':
            return self._forward(x)
        if mode == 'loss':
            return self.loss(x, data_samples)
        if mode == 'predict':
            return self.predict(x, data_samples)
        raise RuntimeError(f"BMN: invalid mode {mode!r}; expected 'tensor', 'loss' or 'predict'")

    def export_spec(self):
        """ONNX export: ``features`` (B, C, T) -> ``bm`` (B, 2, T, T) ``[reg, cls]`` indexed
        [d, s], ``start`` (B, T), ``end`` (B, T); the batch axis is dynamic."""
        from ..export import ExportSpec, TensorModeGraph, TensorSpec
        t = int(self.temporal_dim)
        return ExportSpec(
            graph=TensorModeGraph(self),
            inputs=(TensorSpec('features', ('batch', self.feat_dim, t)), ),
            output_names=('bm', 'start', 'end'),
            output_dynamic_axes={k: {0: 'batch'} for k in ('bm', 'start', 'end')},
            notes='post-processing (bmn_candidates, Soft-NMS, seconds) stays in Python')

    # ------------------------------------------------------------------ train
    def generate_labels(self, gt_segments: Sequence, device) -> tuple:
        """Targets of a batch: ``gt_iou_map`` (B, T, T), ``gt_start``/``gt_end`` (B, T)."""
        maps, starts, ends = [], [], []
        for gt in gt_segments:
            gt = gt.detach().cpu().numpy() if isinstance(gt, torch.Tensor) else np.asarray(gt)
            iou_map, label_start, label_end = bmn_labels(gt, self.temporal_dim)
            maps.append(iou_map)
            starts.append(label_start)
            ends.append(label_end)
        return tuple(torch.from_numpy(np.stack(a)).to(device) for a in (maps, starts, ends))

    def loss(self, x: torch.Tensor, data_samples: Sequence) -> dict:
        """``{'loss': total, 'tem': ..., 'pem_reg': ..., 'pem_cls': ...}``.

        Only ``loss`` is optimised: mmengine sums the keys that contain "loss"; the
        parts are detached and logged.
        """
        if data_samples is None or len(data_samples) != x.shape[0]:
            raise ValueError('BMN.loss: one data sample with gt_instances.segments per input '
                             'is required')
        gt_segments = []
        for sample in data_samples:
            if not hasattr(sample, 'gt_instances') or 'segments' not in sample.gt_instances:
                name = sample.metainfo.get('video_name', '?')
                raise ValueError(f'BMN.loss: video {name}: data sample has no '
                                 'gt_instances.segments (add GenerateLocalizationLabels and '
                                 "keys=('gt_segments',) to the training pipeline)")
            gt_segments.append(sample.gt_instances.segments)
        gt_iou_map, gt_start, gt_end = self.generate_labels(gt_segments, x.device)
        bm, start, end = self._forward(x, valid_only=self._loss_valid_only(gt_iou_map))
        loss, tem, pem_reg, pem_cls = self.loss_module(bm, start, end, gt_iou_map, gt_start,
                                                       gt_end, self.bm_mask)
        return dict(loss=loss, tem=tem.detach(), pem_reg=pem_reg.detach(),
                    pem_cls=pem_cls.detach())

    # ------------------------------------------------------------------ test
    def predict(self, x: torch.Tensor, data_samples: Sequence) -> List:
        """Proposals in seconds for every video of the batch.

        Sets ``pred_instances = InstanceData(segments=(K, 2) float64 seconds,
        scores=(K,) float64)`` on each data sample, sorted by score descending.
        Needs ``duration_second`` and ``duration_frame`` in the metainfo.
        """
        if data_samples is None or len(data_samples) != x.shape[0]:
            raise ValueError('BMN.predict: one data sample per input is required')
        bm, start, end = self._forward(x)
        bm = bm.detach().float().cpu().numpy()
        start = start.detach().float().cpu().numpy()
        end = end.detach().float().cpu().numpy()
        for i, sample in enumerate(data_samples):
            rows = bmn_candidates(start[i], end[i], bm[i, 1], bm[i, 0])
            grid = TimeGrid.from_metainfo(sample.metainfo, self.temporal_dim,
                                          self.feature_extraction_interval)
            segments, scores = post_processing(rows, grid, self.soft_nms_alpha,
                                               self.soft_nms_low_threshold,
                                               self.soft_nms_high_threshold,
                                               self.post_process_top_k)
            sample.pred_instances = InstanceData(segments=torch.from_numpy(segments),
                                                 scores=torch.from_numpy(scores))
        return list(data_samples)
