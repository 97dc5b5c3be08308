"""BSN: Temporal Evaluation Module (TEM) and Proposal Evaluation Module (PEM) (spec §4.1, §4.4).

Parameter names and shapes equal MMAction2's (``conv1/2/3`` and ``fc1/fc2``), so its
BSN checkpoints load with ``strict=True``. Both models predict on whole batches.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import InstanceData

from mmloc.models.layers.pem_mlp import Workspace, no_graph, scaled_relu_mlp
from mmloc.models.utils.boundary_targets import stack_tem_targets, tem_anchors
from mmloc.models.utils.proposal_utils import post_processing
from mmloc.models.data_preprocessor import data_preprocessor_or_default
from mmloc.registry import MODELS
from mmloc.structures import TimeGrid


def _stack_inputs(inputs: Union[torch.Tensor, Sequence[torch.Tensor]]) -> torch.Tensor:
    if isinstance(inputs, torch.Tensor):
        return inputs if inputs.dim() == 3 else inputs[None]
    return torch.stack(list(inputs))


@MODELS.register_module()
class TEM(BaseModel):
    """Temporal Evaluation Module: per-snippet actionness, start and end probabilities.

    Its predictions (``pred_tem``) are not proposals: they feed BSN's proposal generation
    (PGM) and then PEM. ``chain_link`` names that step for
    :class:`~mmloc.apis.LocalizationInferencer` (``mmloc.apis.chains.CHAIN_LINKS``).

    ``y = sigmoid(conv3_ratio * conv3(relu(conv2_ratio * conv2(relu(conv1_ratio *
    conv1(x))))))``, ``x`` (B, C, T) -> ``y`` (B, 3, T) channels ``[action, start, end]``.

    Args:
        temporal_dim: T. boundary_ratio: start/end region width as a share of the GT
            length (label generation). tem_feat_dim: C. tem_hidden_dim: conv width.
        tem_match_threshold: BLR positive threshold. loss_weight: weight of the
            actionness term. output_dim: 3. conv*_ratio: pre-activation scales (the 0.01
            of conv3 matters for parity).
    """

    #: the predictions feed this link of ``mmloc.apis.chains`` (PGM + BSP) into a next stage
    chain_link = 'bsn_pgm'

    def __init__(self, temporal_dim: int = 100, boundary_ratio: float = 0.1,
                 tem_feat_dim: int = 400, tem_hidden_dim: int = 512,
                 tem_match_threshold: float = 0.5, loss_weight: float = 2.,
                 output_dim: int = 3, conv1_ratio: float = 1., conv2_ratio: float = 1.,
                 conv3_ratio: float = 0.01, loss: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor_or_default(data_preprocessor),
                         init_cfg=init_cfg)
        self.temporal_dim = temporal_dim
        self.boundary_ratio = boundary_ratio
        self.feat_dim = tem_feat_dim
        self.match_threshold = tem_match_threshold
        self.loss_weight = loss_weight
        # MMAction2 configs give the loss settings as model arguments
        self.loss_module = MODELS.build(loss or dict(
            type='TEMLoss', match_threshold=tem_match_threshold, action_weight=loss_weight))
        self.conv1_ratio, self.conv2_ratio, self.conv3_ratio = conv1_ratio, conv2_ratio, conv3_ratio
        self.conv1 = nn.Conv1d(tem_feat_dim, tem_hidden_dim, kernel_size=3, stride=1, padding=1)
        self.conv2 = nn.Conv1d(tem_hidden_dim, tem_hidden_dim, kernel_size=3, stride=1, padding=1)
        self.conv3 = nn.Conv1d(tem_hidden_dim, output_dim, kernel_size=1, stride=1, padding=0)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1_ratio * self.conv1(x))
        x = F.relu(self.conv2_ratio * self.conv2(x))
        return torch.sigmoid(self.conv3_ratio * self.conv3(x))

    def forward(self, inputs, data_samples: Optional[list] = None, mode: str = 'tensor'):
        x = _stack_inputs(inputs)
        if x.shape[1] != self.feat_dim:
            raise ValueError(f'TEM: expected inputs (B, {self.feat_dim}, T), got {tuple(x.shape)}')
        out = self._forward(x)
        if mode == 'tensor':
            return out
        if mode == 'loss':
            if x.shape[2] != self.temporal_dim:
                raise ValueError(f'TEM: labels are built for temporal_dim={self.temporal_dim}, '
                                 f'got inputs with T={x.shape[2]}')
            target = stack_tem_targets([s.gt_instances.segments for s in data_samples],
                                       self.temporal_dim, self.boundary_ratio)
            return self.loss_module(out, target)
        if mode == 'predict':
            return self.predict(out, data_samples)
        raise ValueError(f'TEM: invalid mode {mode!r}; expected "tensor", "loss" or "predict"')

    def export_spec(self):
        """ONNX export: ``features`` (B, C, T) -> ``tem`` (B, 3, T) ``[action, start, end]``;
        batch and time are dynamic (the network is fully convolutional)."""
        from ..export import ExportSpec, TensorModeGraph, TensorSpec
        return ExportSpec(
            graph=TensorModeGraph(self),
            inputs=(TensorSpec('features', ('batch', self.feat_dim, 'time')), ),
            output_names=('tem', ), output_dynamic_axes={'tem': {0: 'batch', 2: 'time'}},
            example_sizes={'batch': 1, 'time': self.temporal_dim},
            notes='PGM / BSP features (mmloc.models.utils.bsn_pgm) stay in Python')

    def predict(self, out: torch.Tensor, data_samples: list) -> list:
        """Set ``pred_tem`` (T, 5) float64 ``[action, start, end, tmin, tmax]`` on each sample."""
        scores = out.detach().float().cpu().numpy()
        anchors = tem_anchors(scores.shape[2])
        for sample, video_scores in zip(data_samples, scores):
            sample.pred_tem = np.concatenate([video_scores.T.astype(np.float64), anchors], axis=1)
        return data_samples


@MODELS.register_module()
class PEM(BaseModel):
    """Proposal Evaluation Module: an MLP scoring each proposal from its 32 BSP values.

    ``y = sigmoid(fc2_ratio * fc2(relu(fc1_ratio * fc1(x))))``, ``x`` (N, 32) -> (N, 1).
    Features come from ``data_sample.proposals.features`` (K_b, 32); the batch's
    proposals are scored together and post-processed per video.

    Args:
        pem_feat_dim, pem_hidden_dim: 32, 256. pem_u_ratio_m, pem_u_ratio_l: sampling
            ratios of mid/low-IoU proposals. pem_high/low_temporal_iou_threshold: 0.6, 0.2.
        soft_nms_*: Soft-NMS parameters; post_process_top_k: proposals kept per video.
        soft_nms_dtype: ``'float32'`` (MMAction2: its PEM rows are float32 and its Soft-NMS
            and sort run on them as they are) or ``'float64'``.
        feature_extraction_interval: frames per snippet for the output-seconds formula.
        weighted_loss: False = MMAction2 parity (plain mean Smooth-L1, spec §4.4);
            True = the sampled, weighted loss the paper intends.
        loss: loss config; default ``PEMLoss`` with the thresholds/ratios above.
    """

    def __init__(self, pem_feat_dim: int = 32, pem_hidden_dim: int = 256,
                 pem_u_ratio_m: float = 1., pem_u_ratio_l: float = 2.,
                 pem_high_temporal_iou_threshold: float = 0.6,
                 pem_low_temporal_iou_threshold: float = 0.2, soft_nms_alpha: float = 0.75,
                 soft_nms_low_threshold: float = 0.65, soft_nms_high_threshold: float = 0.9,
                 post_process_top_k: int = 100, soft_nms_dtype: str = 'float32',
                 feature_extraction_interval: int = 16,
                 fc1_ratio: float = 0.1, fc2_ratio: float = 0.1, output_dim: int = 1,
                 weighted_loss: bool = False, loss: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor_or_default(data_preprocessor),
                         init_cfg=init_cfg)
        self.feat_dim = pem_feat_dim
        self.u_ratio_m, self.u_ratio_l = pem_u_ratio_m, pem_u_ratio_l
        self.high_threshold = pem_high_temporal_iou_threshold
        self.low_threshold = pem_low_temporal_iou_threshold
        self.soft_nms_alpha = soft_nms_alpha
        self.soft_nms_low_threshold = soft_nms_low_threshold
        self.soft_nms_high_threshold = soft_nms_high_threshold
        self.post_process_top_k = post_process_top_k
        if soft_nms_dtype not in ('float32', 'float64'):
            raise ValueError(f"PEM: soft_nms_dtype must be 'float32' or 'float64', "
                             f'got {soft_nms_dtype!r}')
        self.soft_nms_dtype = np.dtype(soft_nms_dtype)
        self.feature_extraction_interval = feature_extraction_interval
        self.fc1_ratio, self.fc2_ratio = fc1_ratio, fc2_ratio
        self.weighted_loss = weighted_loss
        self.loss_module = MODELS.build(loss or dict(
            type='PEMLoss', high_threshold=pem_high_temporal_iou_threshold,
            low_threshold=pem_low_temporal_iou_threshold, u_ratio_m=pem_u_ratio_m,
            u_ratio_l=pem_u_ratio_l, weighted=weighted_loss))
        self.fc1 = nn.Linear(pem_feat_dim, pem_hidden_dim, bias=True)
        self.fc2 = nn.Linear(pem_hidden_dim, output_dim, bias=True)
        self._workspace = Workspace()      # the training step's reused hidden buffers

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        z = scaled_relu_mlp(x, self.fc1, self.fc2, self.fc1_ratio, self._workspace)
        if no_graph():                      # same values, no extra (N, 1) tensors
            return z.mul_(self.fc2_ratio).sigmoid_()
        return torch.sigmoid(self.fc2_ratio * z)

    def _gather(self, data_samples: list, key: str) -> torch.Tensor:
        try:
            parts = [s.proposals[key] for s in data_samples]
        except (AttributeError, KeyError):
            raise KeyError(f'PEM: every data sample needs proposals.{key} (LoadProposals + '
                           'PackLocalizationInputs)') from None
        return torch.cat([torch.as_tensor(p) for p in parts]).to(self.fc1.weight.device)

    def forward(self, inputs, data_samples: Optional[list] = None, mode: str = 'tensor'):
        if data_samples is None:
            if mode != 'tensor':
                raise ValueError(f'PEM: mode {mode!r} needs data_samples')
            x = torch.as_tensor(inputs)
        else:
            x = self._gather(data_samples, 'features')
        if x.dim() != 2 or x.shape[1] != self.feat_dim:
            raise ValueError(f'PEM: expected BSP features (N, {self.feat_dim}), got '
                             f'{tuple(x.shape)}')
        out = self._forward(x.to(self.fc1.weight.dtype))
        if mode == 'tensor':
            return out
        if mode == 'loss':
            ref_iou = self._gather(data_samples, 'reference_temporal_iou')
            return dict(temporal_iou_loss=self.loss_module(out, ref_iou))
        if mode == 'predict':
            return self.predict(out, data_samples)
        raise ValueError(f'PEM: invalid mode {mode!r}; expected "tensor", "loss" or "predict"')

    def export_spec(self):
        """ONNX export: ``bsp_feature`` (N, 32) -> ``iou`` (N, 1); N is dynamic."""
        from ..export import ExportSpec, TensorModeGraph, TensorSpec
        return ExportSpec(
            graph=TensorModeGraph(self),
            inputs=(TensorSpec('bsp_feature', ('proposals', self.feat_dim)), ),
            output_names=('iou', ), output_dynamic_axes={'iou': {0: 'proposals'}},
            example_sizes={'proposals': 1000},
            notes='score fusion and Soft-NMS (mmloc.models.utils.post_processing) stay in '
                  'Python')

    def predict(self, out: torch.Tensor, data_samples: list) -> List:
        """Fuse ``p * tmin_score * tmax_score``, Soft-NMS per video, set ``pred_instances``.

        ``pred_instances.segments`` (P, 2) seconds and ``scores`` (P,), P <= top_k.
        """
        pem_scores = out.detach().float().cpu().numpy().reshape(-1)
        offset = 0
        for sample in data_samples:
            props = sample.proposals
            cols = [np.asarray(torch.as_tensor(props[k]).cpu(), dtype=np.float32).reshape(-1)
                    for k in ('tmin', 'tmax', 'tmin_score', 'tmax_score')]
            num = cols[0].shape[0]
            p = pem_scores[offset:offset + num]
            offset += num
            rows = np.stack(cols + [p, p * cols[2] * cols[3]], axis=1)
            grid = TimeGrid.from_metainfo(sample.metainfo, 1, self.feature_extraction_interval)
            segments, scores = post_processing(
                rows, grid, self.soft_nms_alpha, self.soft_nms_low_threshold,
                self.soft_nms_high_threshold, self.post_process_top_k,
                dtype=self.soft_nms_dtype)
            sample.pred_instances = InstanceData(
                segments=torch.as_tensor(np.asarray(segments, dtype=np.float64).reshape(-1, 2)),
                scores=torch.as_tensor(np.asarray(scores, dtype=np.float64).reshape(-1)))
        return data_samples
