"""SSN losses (spec §5.5): activity CE, completeness hinge with OHEM, class-wise smooth-L1.

Proposals arrive per video in sampling order: positives, incompletes, backgrounds
(types 0, 1, 2); labels are 1-based (0 = background).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mmloc.registry import MODELS


class OHEMHingeLossFunction(torch.autograd.Function):
    """Hinge ``max(0, 1 - sign * s[label - 1])`` summed over the top-k of each group.

    The gradient is ``-sign`` on the kept elements whose hinge is active and whose label
    is >= 1, 0 elsewhere (MMAction2's custom backward), written with gather / topk /
    scatter instead of Python loops (spec §8 #23).
    """

    @staticmethod
    def forward(ctx, pred, labels, is_positive, ohem_ratio, group_size):
        num, k = pred.shape
        if num % group_size:
            raise ValueError(f'OHEM hinge: {num} samples are not a multiple of the group '
                             f'size {group_size}')
        # label 0 indexes the last class in the forward (Python -1), as in 0.x.
        cls = (labels.long() - 1) % k
        score = pred.gather(1, cls[:, None]).squeeze(1)
        losses = (1 - is_positive * score).clamp(min=0)
        keep_len = int(group_size * ohem_ratio)
        grouped = losses.view(-1, group_size)
        top, top_idx = grouped.topk(keep_len, dim=1)
        flat_idx = (top_idx + torch.arange(grouped.shape[0], device=pred.device)[:, None] *
                    group_size).reshape(-1)
        ctx.save_for_backward(flat_idx, cls, labels, losses)
        ctx.shape = pred.shape
        ctx.sign = float(is_positive)
        return top.sum()

    @staticmethod
    def backward(ctx, grad_output):
        flat_idx, cls, labels, losses = ctx.saved_tensors
        grad = grad_output.new_zeros(ctx.shape)
        valid = (labels[flat_idx] >= 1) & (losses[flat_idx] > 0)
        rows, cols = flat_idx[valid], cls[flat_idx[valid]]
        grad.index_put_((rows, cols), grad_output.new_full((len(rows), ), -ctx.sign) *
                        grad_output, accumulate=True)
        return grad, None, None, None, None


def ohem_hinge_loss(pred: torch.Tensor, labels: torch.Tensor, is_positive: int,
                    ohem_ratio: float, group_size: int) -> torch.Tensor:
    """Sum of the kept hinge terms.

    Args:
        pred: (N, K) completeness scores. labels: (N,) 1-based.
        is_positive: +1 for complete (positive) proposals, -1 for incomplete ones.
        ohem_ratio: share of each group kept (``int(group_size * ratio)`` largest).
        group_size: proposals per video (consecutive rows).
    """
    return OHEMHingeLossFunction.apply(pred, labels, is_positive, ohem_ratio, group_size)


def completeness_loss(completeness: torch.Tensor, labels: torch.Tensor, pos_per_video: int,
                      inc_per_video: int, ohem_ratio: float) -> torch.Tensor:
    """(num_videos * (pos + inc), K) scores of types 0/1 in video order -> scalar.

    ``(hinge_pos + ohem_hinge_inc) / (num_pos + int(num_inc * ohem_ratio))``.
    """
    k = completeness.shape[1]
    split = pos_per_video + inc_per_video
    pred = completeness.view(-1, split, k)
    gt = labels.view(-1, split)
    pos_pred = pred[:, :pos_per_video].reshape(-1, k)
    inc_pred = pred[:, pos_per_video:].reshape(-1, k)
    pos = ohem_hinge_loss(pos_pred, gt[:, :pos_per_video].reshape(-1), 1, 1.0, pos_per_video)
    inc = ohem_hinge_loss(inc_pred, gt[:, pos_per_video:].reshape(-1), -1, ohem_ratio,
                          inc_per_video)
    denom = pos_pred.shape[0] + int(inc_pred.shape[0] * ohem_ratio)
    return (pos + inc) / float(denom)


def classwise_regression_loss(bbox_pred: torch.Tensor, labels: torch.Tensor,
                              targets: torch.Tensor) -> torch.Tensor:
    """``2 * smooth_l1_mean(bbox_pred[i, label_i - 1], target_i)`` over positives.

    Args: bbox_pred (N, K, 2), labels (N,) 1-based, targets (N, 2).
    """
    # label 0 would index the last class (Python -1 in 0.x); positives never have it.
    idx = (labels.long() - 1) % bbox_pred.shape[1]
    pred = bbox_pred[torch.arange(len(idx), device=bbox_pred.device), idx]
    return F.smooth_l1_loss(pred.reshape(-1), targets.reshape(-1).to(pred.dtype)) * 2


@MODELS.register_module()
class SSNLoss(nn.Module):
    """Activity CE + ``comp_loss_weight`` * completeness + ``reg_loss_weight`` * regression.

    Args:
        num_per_video / positive_ratio / background_ratio / incomplete_ratio: the
            training sampler (they fix the OHEM grouping).
        comp_loss_weight, reg_loss_weight: 0.1 each in 0.x.
    """

    def __init__(self, num_per_video: int = 8, positive_ratio: float = 1,
                 background_ratio: float = 1, incomplete_ratio: float = 6,
                 comp_loss_weight: float = 0.1, reg_loss_weight: float = 0.1):
        super().__init__()
        total = positive_ratio + background_ratio + incomplete_ratio
        self.pos_per_video = int(num_per_video * positive_ratio / total)
        bg = int(num_per_video * background_ratio / total)
        self.inc_per_video = num_per_video - self.pos_per_video - bg
        self.comp_loss_weight = comp_loss_weight
        self.reg_loss_weight = reg_loss_weight

    def forward(self, activity, completeness, bbox_pred, proposal_type, labels,
                reg_targets) -> dict:
        """All per-proposal tensors are flattened over videos: activity (N, K + 1),
        completeness (N, K), bbox_pred (N, K, 2) or None, proposal_type (N,),
        labels (N,), reg_targets (N, 2)."""
        proposal_type = proposal_type.view(-1)
        labels = labels.view(-1).long()
        act_idx = ((proposal_type == 0) | (proposal_type == 2)).nonzero().squeeze(1)
        comp_idx = ((proposal_type == 0) | (proposal_type == 1)).nonzero().squeeze(1)
        losses = dict(loss_activity=F.cross_entropy(activity[act_idx], labels[act_idx]))
        ohem_ratio = self.pos_per_video / self.inc_per_video
        losses['loss_completeness'] = completeness_loss(
            completeness[comp_idx], labels[comp_idx], self.pos_per_video, self.inc_per_video,
            ohem_ratio) * self.comp_loss_weight
        if bbox_pred is not None:
            reg_idx = (proposal_type == 0).nonzero().squeeze(1)
            losses['loss_reg'] = classwise_regression_loss(
                bbox_pred[reg_idx], labels[reg_idx],
                reg_targets.view(-1, 2)[reg_idx]) * self.reg_loss_weight
        return losses
