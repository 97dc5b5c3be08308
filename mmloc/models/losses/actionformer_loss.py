"""Losses of ActionFormer and TriDet (actionformer-spec §4.2-4.3, golden values §9.3-9.5).

Pure functions on tensors, and two registered loss modules that hold the EMA loss normaliser.
Regression quantities are ``(d_left, d_right)`` offsets in stride units.
"""
from __future__ import annotations

from typing import Dict, Tuple

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from mmloc.registry import MODELS


def sigmoid_focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.25,
                       gamma: float = 2.0) -> torch.Tensor:
    """Elementwise RetinaNet focal loss with soft targets (spec §4.2.3).

    ``p = σ(x)``, ``p_t = p y + (1-p)(1-y)``, ``α_t = α y + (1-α)(1-y)``,
    ``ℓ = α_t (1 - p_t)^γ BCE(x, y)``; same shape as ``logits``.
    """
    targets = targets.to(logits.dtype)
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return loss


def _check_offsets(pred: torch.Tensor, target: torch.Tensor) -> None:
    if (pred < 0).any() or (target < 0).any():
        raise ValueError('1D IoU losses need non-negative offsets (d_left, d_right)')


def iou_loss_1d(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """``1 - IoU`` of ``(N, 2)`` offset pairs sharing their point (upstream's
    ``ctr_giou_loss_1d``: the enclosing interval is the union, so GIoU = IoU)."""
    _check_offsets(pred, target)
    lp, rp = pred[..., 0], pred[..., 1]
    lg, rg = target[..., 0], target[..., 1]
    inter = torch.min(lp, lg) + torch.min(rp, rg)
    union = (lp + rp) + (lg + rg) - inter
    return 1.0 - inter / union.clamp(min=eps)


def diou_loss_1d(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """1D DIoU of ``(N, 2)`` offset pairs: ``1 - IoU + (ρ / C)^2`` (spec §4.2.4, §9.4)."""
    _check_offsets(pred, target)
    lp, rp = pred[..., 0], pred[..., 1]
    lg, rg = target[..., 0], target[..., 1]
    inter = torch.min(lp, lg) + torch.min(rp, rg)
    union = (lp + rp) + (lg + rg) - inter
    iou = inter / union.clamp(min=eps)
    enclose = torch.max(lp, lg) + torch.max(rp, rg)
    rho = 0.5 * ((rp - lp) - (rg - lg))
    return 1.0 - iou + (rho / enclose.clamp(min=eps)) ** 2


class LossNormalizer:
    """EMA of the number of positive locations: ``norm <- m norm + (1 - m) max(N_pos, 1)``,
    updated *before* it divides the step's losses (spec §4.2.1, §9.5). A plain attribute,
    not saved in checkpoints (upstream restarts it on resume too)."""

    def __init__(self, init: float = 100.0, momentum: float = 0.9) -> None:
        self.value = float(init)
        self.momentum = float(momentum)

    def update(self, num_pos: int) -> float:
        self.value = self.momentum * self.value + (1 - self.momentum) * max(int(num_pos), 1)
        return self.value


def global_num_positives(num_pos: int, device: torch.device) -> Tuple[int, int]:
    """``(N_pos summed over the ranks, world size)``; ``(num_pos, 1)`` without a process group.

    Upstream counts the positives of the whole batch in one process (spec §4.2.1); under DDP
    every rank holds a slice of that batch, so the count is all-reduced (``SUM``).
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return int(num_pos), 1
    count = torch.tensor([float(num_pos)], dtype=torch.float64, device=device)
    dist.all_reduce(count, op=dist.ReduceOp.SUM)
    return int(count.item()), dist.get_world_size()


def smooth_targets(targets: torch.Tensor, label_smoothing: float) -> torch.Tensor:
    """``y (1 - ε) + ε / (K + 1)`` (note ``K + 1``; spec §4.2.2)."""
    if label_smoothing <= 0:
        return targets
    return targets * (1 - label_smoothing) + label_smoothing / (targets.shape[-1] + 1)


def _combine(cls_loss: torch.Tensor, reg_loss: torch.Tensor, loss_weight: float):
    if loss_weight > 0:
        w = loss_weight
    else:   # upstream's adaptive weight
        w = cls_loss.detach() / max(reg_loss.item(), 0.01)
    return dict(loss_cls=cls_loss, loss_reg=w * reg_loss)


@MODELS.register_module()
class ActionFormerLoss(nn.Module):
    """Sigmoid focal + DIoU over the batch, both divided by the EMA normaliser (spec §4.2).

    ``forward`` returns ``loss_cls`` and ``loss_reg`` (already times ``loss_weight``);
    mmengine sums them into upstream's ``final_loss``. The normaliser moves only in
    training mode.

    Under DDP (``W`` ranks, each with a slice of the batch) the normaliser is updated with the
    positives of the *whole* batch (all-reduced) and each rank's sums are multiplied by ``W``:
    DDP averages the gradients, so the update equals upstream's single process on the full
    batch, and the mean of the ranks' logged losses is upstream's loss.

    Args:
        init_loss_norm: start of the normaliser (THUMOS 100, ANet 200, EPIC 250).
        loss_weight: regression weight (``<= 0``: ``cls.detach() / max(reg, 0.01)``).
        label_smoothing: ε. alpha, gamma: focal parameters.
    """

    def __init__(self, init_loss_norm: float = 100.0, loss_weight: float = 1.0,
                 label_smoothing: float = 0.0, alpha: float = 0.25, gamma: float = 2.0,
                 momentum: float = 0.9) -> None:
        super().__init__()
        self.normalizer = LossNormalizer(init_loss_norm, momentum)
        self.loss_weight = loss_weight
        self.label_smoothing = label_smoothing
        self.alpha, self.gamma = alpha, gamma

    def _norm(self, num_pos: int, device: torch.device) -> float:
        """The divisor of this step's sums: ``norm / W`` (``W`` = ranks, 1 without DDP)."""
        if not self.training:
            return self.normalizer.value
        total, world = global_num_positives(num_pos, device)
        return self.normalizer.update(total) / world

    def forward(self, cls_logits: torch.Tensor, offsets: torch.Tensor, valid: torch.Tensor,
                cls_targets: torch.Tensor, reg_targets: torch.Tensor) -> Dict[str, torch.Tensor]:
        """cls_logits ``(B, F, K)``, offsets ``(B, F, 2)``, valid ``(B, F)`` bool,
        cls_targets ``(B, F, K)``, reg_targets ``(B, F, 2)``."""
        pos = valid & (cls_targets.sum(-1) > 0)
        norm = self._norm(int(pos.sum()), cls_logits.device)
        y = smooth_targets(cls_targets[valid], self.label_smoothing)
        cls_loss = sigmoid_focal_loss(cls_logits[valid], y, self.alpha, self.gamma).sum() / norm
        if pos.any():
            reg_loss = diou_loss_1d(offsets[pos], reg_targets[pos]).sum() / norm
        else:
            reg_loss = 0 * offsets.sum()
        return _combine(cls_loss, reg_loss, self.loss_weight)


@MODELS.register_module()
class TriDetLoss(ActionFormerLoss):
    """TriDet's loss (spec §4.3): pairs (positive location, positive class) regress the
    class's decoded offsets; their focal terms are multiplied by ``IoU^iou_weight_power``
    (not detached, as upstream).

    ``forward`` takes ``offsets (B, F, K, 2)`` (decoded per class).
    """

    def __init__(self, iou_weight_power: float = 0.2, **kwargs) -> None:
        super().__init__(**kwargs)
        self.iou_weight_power = iou_weight_power

    def forward(self, cls_logits, offsets, valid, cls_targets, reg_targets):
        pos = valid & (cls_targets.sum(-1) > 0)
        norm = self._norm(int(pos.sum()), cls_logits.device)
        pairs = pos[..., None] & (cls_targets > 0)                       # (B, F, K)
        pred = offsets[pairs]                                            # (P, 2), row-major
        gt = reg_targets[..., None, :].expand_as(offsets)[pairs]
        y = smooth_targets(cls_targets, self.label_smoothing)
        focal = sigmoid_focal_loss(cls_logits, y, self.alpha, self.gamma)
        if pairs.any():
            iou = 1.0 - iou_loss_1d(pred, gt)
            weight = torch.ones_like(focal).masked_scatter(pairs, iou ** self.iou_weight_power)
            focal = focal * weight
            reg_loss = diou_loss_1d(pred, gt).sum() / norm
        else:
            reg_loss = 0 * offsets.sum()
        cls_loss = focal[valid].sum() / norm
        return _combine(cls_loss, reg_loss, self.loss_weight)
