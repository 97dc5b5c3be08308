"""A small 3D-conv backbone with I3D's output geometry, for CPU demos and tests (spec §8.1).

It returns the same two endpoints as ``InceptionI3d`` (C4 at ``T/4`` and ``crop/16``, C5 at
``T/8`` and ``crop/32``), so the rest of AFSD is unchanged; only widths are small.
"""
from __future__ import annotations

from typing import Dict

import torch
from torch import nn

from mmloc.registry import MODELS

from .layers import Unit3D


@MODELS.register_module()
class TinyVideoBackbone(nn.Module):
    """Five TF-same 3D convs: strides (2,2,2), (2,2,2), (1,2,2), (1,2,2) -> C4; (2,2,2) -> C5.

    Args:
        in_channels: 3 (RGB) or 2 (flow).
        c4_channels, c5_channels: widths of the two returned maps.
        base_channels: width of the first layers.
    """

    #: the weight whose dimension 1 is ``in_channels`` (3 RGB, 2 flow)
    INPUT_LAYER = 'stem.0.conv3d.weight'

    def __init__(self, in_channels: int = 3, c4_channels: int = 32, c5_channels: int = 64,
                 base_channels: int = 16):
        super().__init__()
        self.c4_channels = c4_channels
        self.c5_channels = c5_channels
        b = base_channels
        self.stem = nn.Sequential(
            Unit3D(in_channels, b, (3, 3, 3), (2, 2, 2), use_bn=False),
            Unit3D(b, b, (3, 3, 3), (2, 2, 2), use_bn=False),
            Unit3D(b, b, (3, 3, 3), (1, 2, 2), use_bn=False),
            Unit3D(b, c4_channels, (3, 3, 3), (1, 2, 2), use_bn=False))
        self.c5 = Unit3D(c4_channels, c5_channels, (3, 3, 3), (2, 2, 2), use_bn=False)

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        c4 = self.stem(x)
        return {'Mixed_4f': c4, 'Mixed_5c': self.c5(c4)}
