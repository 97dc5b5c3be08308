"""BMN loss (spec §3.6): TEM (BLR on start/end) + PEM regression (MSE) + PEM classification.

MMAction2's numbers are kept, quirks included (see ``pem_reg_loss``). The losses are
computed in float32 even under autocast.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmloc.registry import MODELS
from .binary_logistic_regression_loss import binary_logistic_regression_loss


def bmn_tem_loss(pred_start: torch.Tensor, pred_end: torch.Tensor, gt_start: torch.Tensor,
                 gt_end: torch.Tensor) -> torch.Tensor:
    """``BLR(start, gt_start) + BLR(end, gt_end)``; all (B, T), counts over the batch."""
    return binary_logistic_regression_loss(pred_start, gt_start) + \
        binary_logistic_regression_loss(pred_end, gt_end)


def _pem_reg_strata(gt_iou_map: torch.Tensor, mask: torch.Tensor, high: float,
                    low: float) -> tuple:
    """High / mid / low cell masks of the PEM regression loss and the mid and low
    sampling rates ``n_high / n_mid``, ``n_high / n_low`` (unclamped, as MMAction2)."""
    u_hmask = (gt_iou_map > high).float()
    u_mmask = ((gt_iou_map <= high) & (gt_iou_map > low)).float()
    u_lmask = ((gt_iou_map <= low) & (gt_iou_map > 0.)).float() * mask
    num_h = u_hmask.sum()
    return u_hmask, u_mmask, u_lmask, num_h / u_mmask.sum(), num_h / u_lmask.sum()


def pem_reg_reads_invalid_cells(gt_iou_map: torch.Tensor, mask: torch.Tensor,
                                high_temporal_iou_threshold: float = 0.7,
                                low_temporal_iou_threshold: float = 0.3) -> bool:
    """Whether :func:`pem_reg_loss` selects cells outside ``mask`` for this batch.

    A rate above 1 (``n_high > n_mid`` or ``> n_low``, incl. a zero count) makes its
    threshold ``1 - rate`` negative, so every cell of that stratum's zeros, masked-out ones
    included, is selected, and the predictions there enter the loss.

    Args:
        gt_iou_map: (B, T, T) targets, already multiplied by ``mask``.
        mask: (T, T) or (B, T, T) bm_mask.
    """
    *_, r_m, r_l = _pem_reg_strata(gt_iou_map.float(), mask, high_temporal_iou_threshold,
                                   low_temporal_iou_threshold)
    return bool((r_m > 1) | (r_l > 1))


def pem_reg_loss(pred_score: torch.Tensor, gt_iou_map: torch.Tensor, mask: torch.Tensor,
                 high_temporal_iou_threshold: float = 0.7,
                 low_temporal_iou_threshold: float = 0.3,
                 zero_when_empty: bool = False) -> torch.Tensor:
    """Sampled MSE on the regression map, MMAction2 semantics.

    Cells with IoU > high are all used; mid cells (low, high] and low cells
    (0, low] (inside ``mask``) are sampled at random with rates ``n_high / n_mid`` and
    ``n_high / n_low``. Parity quirks kept on purpose: the rates are not clamped and
    have no zero guard, so when ``n_high > n_mid`` (or ``n_mid = 0``) *every* cell,
    masked-out ones included, is selected; the weights (up to 3) are squared inside
    ``mse(W*p, W*G)``; and the loss is NaN when no cell is selected.

    Args:
        pred_score: (B, T, T) predicted regression confidence.
        gt_iou_map: (B, T, T) targets, already multiplied by ``mask``.
        mask: (T, T) or (B, T, T) bm_mask.
        zero_when_empty: return 0 (with a graph) instead of MMAction2's NaN when no cell
            is selected (a batch without any cell of IoU > high).

    Returns:
        Scalar ``0.5 * sum((W*p - W*G)^2) / sum(W)``.
    """
    pred_score = pred_score.float()
    gt_iou_map = gt_iou_map.float()
    u_hmask, u_mmask, u_lmask, r_m, r_l = _pem_reg_strata(
        gt_iou_map, mask, high_temporal_iou_threshold, low_temporal_iou_threshold)
    u_smmask = (u_mmask * torch.rand_like(gt_iou_map) > (1. - r_m)).float()
    u_slmask = (u_lmask * torch.rand_like(gt_iou_map) > (1. - r_l)).float()
    weights = u_hmask + u_smmask + u_slmask
    loss = F.mse_loss(pred_score * weights, gt_iou_map * weights)
    if zero_when_empty and not bool(weights.sum() > 0):
        return pred_score.sum() * 0.0
    return 0.5 * loss * weights.numel() / weights.sum()


def pem_cls_loss(pred_score: torch.Tensor, gt_iou_map: torch.Tensor, mask: torch.Tensor,
                 threshold: float = 0.9, ratio_range: tuple = (1.05, 21),
                 eps: float = 1e-5) -> torch.Tensor:
    """Balanced BCE on the classification map: positives ``G > threshold``,
    negatives ``(G <= threshold) * mask``; ratio ``n_entries / n_pos`` clamped.

    Args:
        pred_score: (B, T, T) predicted classification confidence.
        gt_iou_map: (B, T, T) targets (already masked by the caller in BMN).
        mask: (T, T) or (B, T, T) bm_mask (may be soft).

    Returns:
        Scalar ``-sum(c1*log(p+eps)*pos + c0*log(1-p+eps)*neg) / n_entries``.
    """
    pred_score = pred_score.float()
    gt_iou_map = gt_iou_map.float()
    pmask = (gt_iou_map > threshold).float()
    nmask = (gt_iou_map <= threshold).float() * mask
    num_positive = torch.clamp(pmask.sum(), min=1.0)
    num_entries = num_positive + nmask.sum()
    ratio = torch.clamp(num_entries / num_positive, ratio_range[0], ratio_range[1])
    coef_0 = 0.5 * ratio / (ratio - 1)
    coef_1 = 0.5 * ratio
    loss_pos = coef_1 * torch.log(pred_score + eps) * pmask
    loss_neg = coef_0 * torch.log(1.0 - pred_score + eps) * nmask
    return -(loss_pos + loss_neg).sum() / num_entries


@MODELS.register_module()
class BMNLoss(nn.Module):
    """``weight_tem * TEM + weight_pem_reg * PEM_reg + weight_pem_cls * PEM_cls`` (1, 10, 1).

    Args:
        nan_guard: MMAction2's PEM regression loss is NaN for a batch with no cell of
            IoU > 0.7 (e.g. one short-action video per GPU); one such batch turns every
            weight into NaN through the optimizer. With the guard (default) that batch's
            PEM regression term is 0; every other batch is unchanged. ``False`` keeps
            MMAction2's NaN.
    """

    def __init__(self, nan_guard: bool = True) -> None:
        super().__init__()
        self.nan_guard = nan_guard

    def reads_invalid_cells(self, gt_iou_map: torch.Tensor, bm_mask: torch.Tensor) -> bool:
        """Whether this batch's loss depends on predictions outside ``bm_mask``.

        Args:
            gt_iou_map: (B, T, T) max IoU per cell (unmasked), as :meth:`forward` takes it.
            bm_mask: (T, T) valid-cell mask.
        """
        bm_mask = bm_mask.to(torch.float32)
        return pem_reg_reads_invalid_cells(gt_iou_map.float() * bm_mask, bm_mask)

    def forward(self, pred_bm: torch.Tensor, pred_start: torch.Tensor, pred_end: torch.Tensor,
                gt_iou_map: torch.Tensor, gt_start: torch.Tensor, gt_end: torch.Tensor,
                bm_mask: torch.Tensor, weight_tem: float = 1.0, weight_pem_reg: float = 10.0,
                weight_pem_cls: float = 1.0) -> tuple:
        """Compute the BMN loss.

        Args:
            pred_bm: (B, 2, T, T); channel 0 regression, channel 1 classification.
            pred_start, pred_end: (B, T) boundary probabilities.
            gt_iou_map: (B, T, T) max IoU per cell (unmasked).
            gt_start, gt_end: (B, T) boundary targets.
            bm_mask: (T, T) valid-cell mask.

        Returns:
            ``(loss, tem_loss, pem_reg_loss, pem_cls_loss)`` scalars.
        """
        bm_mask = bm_mask.to(torch.float32)
        pred_bm_reg = pred_bm[:, 0].contiguous()
        pred_bm_cls = pred_bm[:, 1].contiguous()
        gt_iou_map = gt_iou_map.float() * bm_mask
        pem_reg = pem_reg_loss(pred_bm_reg, gt_iou_map, bm_mask, zero_when_empty=self.nan_guard)
        pem_cls = pem_cls_loss(pred_bm_cls, gt_iou_map, bm_mask)
        tem = bmn_tem_loss(pred_start, pred_end, gt_start, gt_end)
        loss = weight_tem * tem + weight_pem_reg * pem_reg + weight_pem_cls * pem_cls
        return loss, tem, pem_reg, pem_cls
