"""ActionFormer's ``identity`` neck (spec §2.5): a LayerNorm per pyramid level."""
from __future__ import annotations

from typing import List

import torch
from torch import nn

from mmloc.registry import MODELS
from .blocks import LayerNorm


@MODELS.register_module()
class ActionFormerNeck(nn.Module):
    """Level ``l`` -> ``fpn_norms[l](level l)`` (or identity without LN); masks pass through."""

    def __init__(self, dim: int = 512, num_levels: int = 6, with_ln: bool = True) -> None:
        super().__init__()
        self.fpn_norms = nn.ModuleList(LayerNorm(dim) if with_ln else nn.Identity()
                                       for _ in range(num_levels))

    def forward(self, feats: List[torch.Tensor], masks: List[torch.Tensor]):
        if len(feats) != len(self.fpn_norms):
            raise ValueError(f'ActionFormerNeck: {len(feats)} levels, built for '
                             f'{len(self.fpn_norms)}')
        return [norm(f) for norm, f in zip(self.fpn_norms, feats)], list(masks)
