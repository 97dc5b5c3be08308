"""AFSD loss terms as pure functions (spec §3.3, §4.5-4.7). Reductions are left to the caller
except where the spec fixes them (the BCE terms use a mean). :mod:`.criterion` assembles them."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def softmax_focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.25,
                       gamma: float = 2.0) -> torch.Tensor:
    """Per-location softmax focal loss ``-α_y (1-p_y)^γ log p_y`` with ``p_y += 1e-6``.

    Args:
        logits: (N, num_classes) raw class scores. targets: (N,) long, 0 = background.
        alpha: weight of the background class; foreground classes get ``1 - alpha``.

    Returns:
        (N,) losses (sum and divide by the positive count outside).
    """
    p = logits.softmax(dim=-1)
    pt = p.gather(1, targets.long()[:, None])[:, 0] + 1e-6
    alpha_t = torch.where(targets == 0, torch.full_like(pt, alpha), torch.full_like(pt, 1 - alpha))
    return -alpha_t * (1.0 - pt).pow(gamma) * pt.log()


def distance_giou_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``1 - GIoU`` of ``(l, r)`` distance pairs around one centre, shape (N, 2) -> (N,).

    Both intervals contain the centre, so the enclosing length equals the union and the loss
    is exactly ``1 - IoU``; the general form is kept for parity with the original.
    """
    eps = torch.finfo(pred.dtype).eps
    inter = torch.minimum(pred[:, 0], target[:, 0]) + torch.minimum(pred[:, 1], target[:, 1])
    union = pred.sum(-1) + target.sum(-1) - inter
    iou = inter / union.clamp(min=eps)
    enclose = torch.maximum(pred[:, 0], target[:, 0]) + torch.maximum(pred[:, 1], target[:, 1])
    giou = iou - (enclose - union) / enclose.clamp(min=eps)
    return 1.0 - giou


def boundary_activation_loss(feat: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Activation-guided BCE (spec §4.6): ``BCE(mean_C tanh(feat), labels)``, mean reduction.

    Args:
        feat: (B, T, C) post-ReLU features (so ``mean tanh`` lies in ``[0, 1)``).
        labels: (B, T) 0/1 boundary labels.
    """
    act = torch.tanh(feat).mean(dim=-1).clamp(0.0, 1.0)
    return F.binary_cross_entropy(act, labels.to(act.dtype))


def boundary_contrastive_loss(pooled: list, weights=(1.0, 0.1, 0.1)) -> torch.Tensor:
    """Triplet loss on boundary-pooled features of the augmented clip (spec §4.7).

    Args:
        pooled: per feature map ``m``, a (1, C_m, 3) tensor pooled over the three segments
            (action part 1, action part 2, inserted background).
        weights: per-map weights ``w_m``.

    Returns:
        Scalar ``Σ_m w_m · TripletMargin(anchor = end half @ seg 0, positive = start half @
        seg 1, negative = start half @ seg 2)``, margin 1, p 2, eps 1e-6.
    """
    total = pooled[0].new_zeros(())
    for p, w in zip(pooled, weights):
        h = p.shape[1] // 2
        total = total + w * F.triplet_margin_loss(p[:, h:, 0], p[:, :h, 1], p[:, :h, 2],
                                                  margin=1.0, p=2, eps=1e-6)
    return total
