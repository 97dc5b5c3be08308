"""ActionFormer / TriDet heads, shared across pyramid levels (spec §2.6, §3.3).

Inputs: level features ``[(B, D, T_l)]`` and masks ``[(B, 1, T_l)]``; outputs channel-first
``[(B, ·, T_l)]``, exactly 0 at padded positions (masked convs).
"""
from __future__ import annotations

import math
from typing import List, Sequence

import torch
from torch import nn

from mmloc.registry import MODELS
from .blocks import LayerNorm, MaskedConv1D, Scale

#: bias of classes that never occur in training (``-log((1 - 1e-6) / 1e-6)``)
EMPTY_CLASS_BIAS = -math.log((1 - 1e-6) / 1e-6)


def prior_bias(prior_prob: float) -> float:
    """``-log((1 - p) / p)``: sigmoid outputs start at ``p`` (-4.59512 for 0.01)."""
    return -math.log((1 - prior_prob) / prior_prob)


class _Tower(nn.Module):
    """``num_layers - 1`` x [MaskedConv1D k, LayerNorm (or identity), ReLU]; keys ``head``,
    ``norm``."""

    def _build_tower(self, in_channels: int, dim: int, num_layers: int, kernel_size: int,
                     with_ln: bool) -> None:
        self.act = nn.ReLU()
        self.head = nn.ModuleList()
        self.norm = nn.ModuleList()
        for i in range(num_layers - 1):
            self.head.append(MaskedConv1D(in_channels if i == 0 else dim, dim, kernel_size,
                                          bias=not with_ln))
            self.norm.append(LayerNorm(dim) if with_ln else nn.Identity())

    def _tower(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for conv, norm in zip(self.head, self.norm):
            x, _ = conv(x, mask)
            x = self.act(norm(x))
        return x


@MODELS.register_module()
class ActionFormerClsHead(_Tower):
    """Classification head: tower + MaskedConv1D ``H -> K`` with the prior bias (spec §2.6).

    Also TriDet's start / end heads (``detach_feat=True``: their inputs are detached).

    Args:
        empty_classes: class ids that never occur in training (bias -13.8155).
    """

    def __init__(self, in_channels: int, num_classes: int, dim: int = 512,
                 num_layers: int = 3, kernel_size: int = 3, with_ln: bool = True,
                 prior_prob: float = 0.01, empty_classes: Sequence[int] = (),
                 detach_feat: bool = False) -> None:
        super().__init__()
        self._build_tower(in_channels, dim, num_layers, kernel_size, with_ln)
        self.detach_feat = detach_feat
        self.cls_head = MaskedConv1D(dim if num_layers > 1 else in_channels, num_classes,
                                     kernel_size)
        if prior_prob > 0:
            nn.init.constant_(self.cls_head.conv.bias, prior_bias(prior_prob))
        if len(empty_classes):
            with torch.no_grad():
                self.cls_head.conv.bias[list(empty_classes)] = EMPTY_CLASS_BIAS

    def forward(self, feats: List[torch.Tensor], masks: List[torch.Tensor]) -> List[torch.Tensor]:
        """-> logits ``[(B, K, T_l)]``."""
        out = []
        for x, m in zip(feats, masks):
            if self.detach_feat:
                x = x.detach()
            logits, _ = self.cls_head(self._tower(x, m), m)
            out.append(logits)
        return out


@MODELS.register_module()
class ActionFormerRegHead(_Tower):
    """Regression head: tower + MaskedConv1D ``H -> 2 (num_bins + 1)`` then
    ``ReLU(Scale_l · ·)`` (spec §2.6, §3.3). ``num_bins=0`` is ActionFormer's
    ``(d_left, d_right)`` in stride units; TriDet's Trident head has ``num_bins`` bins.
    """

    def __init__(self, in_channels: int, num_levels: int = 6, dim: int = 512,
                 num_layers: int = 3, kernel_size: int = 3, with_ln: bool = True,
                 num_bins: int = 0) -> None:
        super().__init__()
        self._build_tower(in_channels, dim, num_layers, kernel_size, with_ln)
        self.num_bins = num_bins
        self.scale = nn.ModuleList(Scale() for _ in range(num_levels))
        self.offset_head = MaskedConv1D(dim if num_layers > 1 else in_channels,
                                        2 * (num_bins + 1), kernel_size)

    def forward(self, feats: List[torch.Tensor], masks: List[torch.Tensor]) -> List[torch.Tensor]:
        """-> ``[(B, 2 (num_bins + 1), T_l)]``, non-negative."""
        if len(feats) != len(self.scale):
            raise ValueError(f'ActionFormerRegHead: {len(feats)} levels, built for '
                             f'{len(self.scale)}')
        out = []
        for level, (x, m) in enumerate(zip(feats, masks)):
            off, _ = self.offset_head(self._tower(x, m), m)
            out.append(torch.relu(self.scale[level](off)))
        return out
