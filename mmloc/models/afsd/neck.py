"""AFSD necks: the temporal feature pyramid (spec §2.2), from a video backbone's C4/C5 maps or
from snippet features. Registered in ``MODELS``; ``AFSDNet`` fills their width arguments."""
from __future__ import annotations

from typing import Dict, List

import torch
import torch.nn.functional as F
from torch import nn

from mmloc.registry import MODELS

from .layers import ConvGNReLU1d, glorot_uniform_


@MODELS.register_module()
class AFSDFramePyramid(nn.Module):
    """Levels from the backbone's C4 (level 0, ``T/4``) and C5 (level 1, ``T/8``), then
    stride-2 ``Unit1D`` levels; level 0 += nearest-upsampled level 1 (spec §2.2).

    The level-0/1 kernels span the whole C4/C5 spatial map (``crop/16``, ``crop/32``), so the
    crop size is fixed at build time.

    Args:
        c4_channels, c5_channels: widths of the backbone's ``Mixed_4f`` / ``Mixed_5c`` maps.
        c4_spatial, c5_spatial: their spatial sizes (``crop // 16``, ``crop // 32``).
        width: pyramid width. num_levels: levels (>= 2). gn_groups: GroupNorm groups.

    Input: ``{'Mixed_4f': (B, C4, T/4, s4, s4), 'Mixed_5c': (B, C5, T/8, s5, s5)}``.
    Output: ``num_levels`` maps (B, width, t_i).
    """

    def __init__(self, c4_channels: int, c5_channels: int, c4_spatial: int, c5_spatial: int,
                 width: int = 512, num_levels: int = 6, gn_groups: int = 32):
        super().__init__()
        if num_levels < 2:
            raise ValueError(f'FramePyramid: num_levels must be >= 2, got {num_levels}')
        self.c4_spatial, self.c5_spatial = c4_spatial, c5_spatial
        self.level0 = nn.Conv3d(c4_channels, width, (1, c4_spatial, c4_spatial))
        self.level0_gn = nn.GroupNorm(gn_groups, width)
        self.level1 = nn.Conv3d(c5_channels, width, (1, c5_spatial, c5_spatial))
        self.level1_gn = nn.GroupNorm(gn_groups, width)
        self.down = nn.ModuleList(ConvGNReLU1d(width, width, 3, 2, gn_groups)
                                  for _ in range(num_levels - 2))

    def init_glorot(self) -> None:
        """AFSD's init of every conv (``glorot_uniform_``); ``AFSDNet`` calls it."""
        glorot_uniform_(self)

    def _squeeze(self, conv, gn, x, expected):
        if x.shape[-1] != expected or x.shape[-2] != expected:
            raise ValueError(f'FramePyramid: expected a backbone map of spatial size '
                             f'{expected}x{expected} (crop = 16 x C4 size), got {tuple(x.shape)}')
        return F.relu(gn(conv(x).flatten(2)))

    def forward(self, feats: Dict[str, torch.Tensor]) -> List[torch.Tensor]:
        x0 = self._squeeze(self.level0, self.level0_gn, feats['Mixed_4f'], self.c4_spatial)
        x1 = self._squeeze(self.level1, self.level1_gn, feats['Mixed_5c'], self.c5_spatial)
        levels = [x0, x1]
        x = x1
        for layer in self.down:
            x = layer(x)
            levels.append(x)
        # Plain sum, no activation after it; nearest repeats each level-1 value twice.
        levels[0] = x0 + F.interpolate(x1, size=x0.shape[-1], mode='nearest')
        return levels


@MODELS.register_module()
class AFSDFeaturePyramid(nn.Module):
    """Feature-input variant: snippet features ``(B, C_in, L/4)`` -> level 0 by a k1 conv,
    then stride-2 ``Unit1D`` levels (no backbone, no C4/C5 fusion).

    Args:
        in_channels: feature width. width, num_levels, gn_groups: as ``AFSDFramePyramid``.
    """

    #: the weight whose dimension 1 is ``in_channels`` (the network's input layer)
    INPUT_LAYER = 'level0.conv.conv1d.weight'

    def __init__(self, in_channels: int, width: int = 512, num_levels: int = 6,
                 gn_groups: int = 32):
        super().__init__()
        self.level0 = ConvGNReLU1d(in_channels, width, 1, 1, gn_groups)
        self.down = nn.ModuleList(ConvGNReLU1d(width, width, 3, 2, gn_groups)
                                  for _ in range(num_levels - 1))

    def init_glorot(self) -> None:
        glorot_uniform_(self)

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        x = self.level0(x)
        levels = [x]
        for layer in self.down:
            x = layer(x)
            levels.append(x)
        return levels
