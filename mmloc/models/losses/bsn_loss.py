"""BSN losses (spec §4.1, §4.4): TEM's BLR terms and PEM's IoU regression.

Targets are built in ``mmloc.models.utils.boundary_targets``."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from mmloc.registry import MODELS

from .binary_logistic_regression_loss import binary_logistic_regression_loss


def tem_loss(pred: torch.Tensor, target: torch.Tensor, match_threshold: float = 0.5,
             action_weight: float = 2.0) -> dict:
    """TEM loss terms (spec §4.1): BLR on each channel over the flattened batch.

    Args:
        pred: (B, 3, T) probabilities ``[action, start, end]``.
        target: (B, 3, T) targets from :func:`tem_targets`.
        match_threshold: BLR positive threshold.
        action_weight: multiplier of the actionness term (MMAction2's ``loss_weight``).

    Returns:
        ``dict(loss_action, loss_start, loss_end)`` scalar tensors; the optimised loss
        is their sum.
    """
    if pred.shape != target.shape or pred.dim() != 3 or pred.shape[1] != 3:
        raise ValueError(f'tem_loss: pred and target must both be (B, 3, T), got '
                         f'{tuple(pred.shape)} and {tuple(target.shape)}')
    target = target.to(pred.device, pred.dtype)
    losses = [binary_logistic_regression_loss(pred[:, c], target[:, c], match_threshold)
              for c in range(3)]
    return dict(loss_action=losses[0] * action_weight, loss_start=losses[1],
                loss_end=losses[2])


def pem_sample_weights(ref_iou: torch.Tensor, high_threshold: float = 0.6,
                       low_threshold: float = 0.2, u_ratio_m: float = 1.,
                       u_ratio_l: float = 2., generator: Optional[torch.Generator] = None
                       ) -> torch.Tensor:
    """PEM positive/negative sampling weights (spec §4.4), MMAction2's RNG order.

    High (``r > high``) proposals all get weight 1; mid (``low < r <= high``) and low
    (``r <= low``) ones are drawn with probabilities ``min(u_ratio_m * n_high / n_mid, 1)``
    and ``min(u_ratio_l * n_high / n_low, 1)`` using two uniform draws (mid first).

    Args:
        ref_iou: (N,) reference IoU of each proposal with the GT.

    Returns:
        (N,) float weights in {0, 1}.
    """
    high = (ref_iou > high_threshold).float()
    mid = ((ref_iou <= high_threshold) & (ref_iou > low_threshold)).float()
    low = (ref_iou <= low_threshold).float()
    n_high = high.sum()
    # Division by zero gives inf (or nan for 0/0) as in MMAction2; the min() caps inf at 1
    # and nan makes the comparison below False, so nothing is drawn from an empty group.
    r_m = torch.clamp_max(u_ratio_m * n_high / mid.sum(), 1.0)
    draw_m = torch.rand(ref_iou.shape[0], device=ref_iou.device, generator=generator)
    r_l = torch.clamp_max(u_ratio_l * n_high / low.sum(), 1.0)
    draw_l = torch.rand(ref_iou.shape[0], device=ref_iou.device, generator=generator)
    sel_m = (draw_m * mid > 1. - r_m).float()
    sel_l = (draw_l * low > 1. - r_l).float()
    return high + sel_m + sel_l


def pem_loss(pred: torch.Tensor, ref_iou: torch.Tensor, high_threshold: float = 0.6,
             low_threshold: float = 0.2, u_ratio_m: float = 1., u_ratio_l: float = 2.,
             weighted: bool = False, generator: Optional[torch.Generator] = None
             ) -> torch.Tensor:
    """PEM IoU regression loss (spec §4.4).

    ``weighted=False`` (parity): MMAction2 multiplies the *mean* Smooth-L1 by the
    sampling weights and divides by their sum, so the weights cancel and the loss is the
    plain mean Smooth-L1 over all proposals. The uniform draws are still made so the RNG
    stream matches. (Where MMAction2 gives NaN, because no proposal has ``r > high``,
    this returns the plain mean: the NaN is a bug, not a value worth reproducing.)

    ``weighted=True``: the paper's intent, ``sum(w * smoothl1(p, r)) / sum(w)`` with the
    sampled weights ``w`` (plain mean if no proposal is selected).

    Args:
        pred: (N,) or (N, 1) predicted IoU. ref_iou: (N,) reference IoU (``match_iou``).

    Returns:
        Scalar tensor.
    """
    pred = pred.reshape(-1)
    ref_iou = ref_iou.reshape(-1).to(pred.device, pred.dtype)
    if pred.numel() != ref_iou.numel():
        raise ValueError(f'pem_loss: {pred.numel()} predictions but {ref_iou.numel()} '
                         'reference IoUs; expected the same number')
    weights = pem_sample_weights(ref_iou, high_threshold, low_threshold, u_ratio_m, u_ratio_l,
                                 generator)
    if not weighted:
        return F.smooth_l1_loss(pred, ref_iou)
    per_item = F.smooth_l1_loss(pred, ref_iou, reduction='none')
    total = weights.sum()
    if total <= 0:
        return per_item.mean()
    return (per_item * weights).sum() / total


@MODELS.register_module()
class TEMLoss(nn.Module):
    """TEM's loss as a module (config ``loss=dict(type='TEMLoss', ...)``): :func:`tem_loss`.

    Args:
        match_threshold: BLR positive threshold (MMAction2's ``tem_match_threshold``).
        action_weight: multiplier of the actionness term (MMAction2's ``loss_weight``).
    """

    def __init__(self, match_threshold: float = 0.5, action_weight: float = 2.0) -> None:
        super().__init__()
        self.match_threshold = match_threshold
        self.action_weight = action_weight

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> dict:
        return tem_loss(pred, target, self.match_threshold, self.action_weight)


@MODELS.register_module()
class PEMLoss(nn.Module):
    """PEM's loss as a module (config ``loss=dict(type='PEMLoss', ...)``): :func:`pem_loss`.

    Args: as :func:`pem_loss` (``weighted=False`` is MMAction2 parity).
    """

    def __init__(self, high_threshold: float = 0.6, low_threshold: float = 0.2,
                 u_ratio_m: float = 1., u_ratio_l: float = 2., weighted: bool = False) -> None:
        super().__init__()
        self.high_threshold, self.low_threshold = high_threshold, low_threshold
        self.u_ratio_m, self.u_ratio_l = u_ratio_m, u_ratio_l
        self.weighted = weighted

    def forward(self, pred: torch.Tensor, ref_iou: torch.Tensor) -> torch.Tensor:
        return pem_loss(pred, ref_iou, self.high_threshold, self.low_threshold,
                        self.u_ratio_m, self.u_ratio_l, weighted=self.weighted)

