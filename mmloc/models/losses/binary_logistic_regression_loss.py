"""Binary logistic regression (BLR) loss of BSN/BMN (spec §3.6)."""
from __future__ import annotations

import torch
import torch.nn as nn

from mmloc.registry import MODELS


def binary_logistic_regression_loss(pred: torch.Tensor,
                                    label: torch.Tensor,
                                    threshold: float = 0.5,
                                    ratio_range: tuple = (1.05, 21),
                                    eps: float = 1e-5) -> torch.Tensor:
    """Class-balanced binary logistic regression loss.

    ``pos = label > threshold``; ``r = clip(numel / max(sum(pos), 1), *ratio_range)``;
    positives are weighted ``r / 2``, negatives ``r / (2 (r - 1))``; the result is
    ``-mean(w_pos * pos * log(p + eps) + w_neg * (1 - pos) * log(1 - p + eps))``.

    Args:
        pred: predicted probabilities of any shape (flattened), values in [0, 1].
        label: targets of the same number of elements (soft labels allowed).
        threshold: a label above it counts as positive.
        ratio_range: clamp range of the ``numel / n_pos`` ratio.
        eps: added inside the logarithms.

    Returns:
        Scalar tensor (float32 for half-precision ``pred``, else ``pred``'s dtype).
    """
    pred = pred.reshape(-1)
    label = label.reshape(-1)
    if pred.numel() != label.numel():
        raise ValueError(f'binary_logistic_regression_loss: pred has {pred.numel()} elements, '
                         f'label has {label.numel()}; expected the same number')
    # Keep the loss in float32 under autocast: log(1 - p + 1e-5) is lost in fp16.
    if pred.dtype in (torch.float16, torch.bfloat16):
        pred = pred.float()
    pos = (label > threshold).float()
    num_pos = torch.clamp(pos.sum(), min=1.0)
    ratio = torch.clamp(pos.numel() / num_pos, ratio_range[0], ratio_range[1])
    coef_pos = 0.5 * ratio
    coef_neg = 0.5 * ratio / (ratio - 1)
    loss = coef_pos * pos * torch.log(pred + eps) \
        + coef_neg * (1.0 - pos) * torch.log(1.0 - pred + eps)
    return -loss.mean()


@MODELS.register_module()
class BinaryLogisticRegressionLoss(nn.Module):
    """Module wrapper of :func:`binary_logistic_regression_loss`."""

    def forward(self,
                pred: torch.Tensor,
                label: torch.Tensor,
                threshold: float = 0.5,
                ratio_range: tuple = (1.05, 21),
                eps: float = 1e-5) -> torch.Tensor:
        return binary_logistic_regression_loss(pred, label, threshold, ratio_range, eps)
