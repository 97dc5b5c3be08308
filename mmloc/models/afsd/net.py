"""The AFSD network: backbone -> pyramid + frame-level feature ``G`` -> coarse heads ->
proposal branches (boundary pooling) -> refined heads (spec §2.2, §3.1, §4.3-4.4).

Everything here is a plain ``nn.Module`` returning raw tensors; targets, losses and
post-processing live in their own modules and the mmengine wrapper is
``mmloc.models.localizers.AFSD``.
"""
from __future__ import annotations

from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import nn

from mmloc.registry import MODELS

from .boundary_pooling import boundary_max_pooling, frame_regions, level_regions
from .layers import ConvGNReLU1d, ScaleExp, Unit1D, glorot_uniform_
from .targets import make_priors


class FramePyramid(nn.Module):
    """Levels from the backbone's C4 (level 0, ``T/4``) and C5 (level 1, ``T/8``), then
    stride-2 ``Unit1D`` levels; level 0 += nearest-upsampled level 1 (spec §2.2).

    The level-0/1 kernels span the whole C4/C5 spatial map (``crop/16``, ``crop/32``), so the
    crop size is fixed at build time.
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


class FeaturePyramid(nn.Module):
    """Feature-input variant: snippet features ``(B, C_in, L/4)`` -> level 0 by a k1 conv,
    then stride-2 ``Unit1D`` levels (no backbone, no C4/C5 fusion)."""

    def __init__(self, in_channels: int, width: int = 512, num_levels: int = 6,
                 gn_groups: int = 32):
        super().__init__()
        self.level0 = ConvGNReLU1d(in_channels, width, 1, 1, gn_groups)
        self.down = nn.ModuleList(ConvGNReLU1d(width, width, 3, 2, gn_groups)
                                  for _ in range(num_levels - 1))

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        x = self.level0(x)
        levels = [x]
        for layer in self.down:
            x = layer(x)
            levels.append(x)
        return levels


class ProposalBranch(nn.Module):
    """Boundary-pooled refinement features (spec §4.3); returns ``(out, E)``."""

    def __init__(self, width: int, gn_groups: int):
        super().__init__()
        self.cur_point_conv = ConvGNReLU1d(width, width, 1, 1, gn_groups)
        self.lr_conv = ConvGNReLU1d(width, 2 * width, 1, 1, gn_groups)
        self.boundary_conv = ConvGNReLU1d(width, width, 1, 1, gn_groups)
        self.roi_conv = ConvGNReLU1d(4 * width, width, 1, 1, gn_groups)

    def forward(self, feature, frame_feature, segments, frame_segments):
        point = self.cur_point_conv(feature)
        boundary_map = self.lr_conv(feature)  # E: start half | end half
        pooled = boundary_max_pooling(boundary_map, segments)
        roi = self.boundary_conv(boundary_max_pooling(frame_feature, frame_segments))
        out = self.roi_conv(torch.cat([roi, pooled, point], dim=1))  # order R, A, P
        return out, boundary_map


@MODELS.register_module()
class AFSDNet(nn.Module):
    """AFSD network (THUMOS variant).

    Args:
        num_classes: including background (THUMOS14: 21).
        clip_length: ``L``, frames per window.
        backbone: config of a backbone returning ``{'Mixed_4f', 'Mixed_5c'}`` maps
            (``InceptionI3d``, ``TinyVideoBackbone``), or ``None`` for feature input.
        feature_channels: input channels of the feature variant (``backbone=None``).
        crop_size: spatial crop (96 for I3D) fixing the level-0/1 kernels.
        width: pyramid width = ``proposal_channels``.
        num_levels: pyramid levels (6 in the paper).
        gn_groups: GroupNorm groups.
        freeze_bn: keep every backbone BatchNorm in eval mode with frozen affine parameters.

    Input: frames ``(B, C, L, crop, crop)`` in [-1, 1], or features ``(B, C_in, L/4)``.
    """

    def __init__(self, num_classes: int = 21, clip_length: int = 256,
                 backbone: Optional[dict] = None, feature_channels: int = 2048,
                 crop_size: int = 96, width: int = 512, num_levels: int = 6,
                 gn_groups: int = 32, freeze_bn: bool = True):
        super().__init__()
        if clip_length % 2 ** (num_levels + 1):
            raise ValueError(f'AFSDNet: clip_length {clip_length} must be divisible by '
                             f'2**(num_levels+1) = {2 ** (num_levels + 1)}')
        if width % 2 or width % gn_groups:
            raise ValueError(f'AFSDNet: width {width} must be even and divisible by '
                             f'gn_groups {gn_groups}')
        self.num_classes = num_classes
        self.clip_length = clip_length
        self.num_levels = num_levels
        self.width = width
        self.freeze_bn = freeze_bn
        self.level_lengths = [clip_length // 2 ** (i + 2) for i in range(num_levels)]
        if backbone is not None:
            self.backbone = MODELS.build(backbone)
            if crop_size % 32:
                raise ValueError(f'AFSDNet: crop_size {crop_size} must be a multiple of 32')
            self.neck = FramePyramid(self.backbone.c4_channels, self.backbone.c5_channels,
                                     crop_size // 16, crop_size // 32, width, num_levels,
                                     gn_groups)
        else:
            self.backbone = None
            self.neck = FeaturePyramid(feature_channels, width, num_levels, gn_groups)
        self.frame_layers = nn.Sequential(ConvGNReLU1d(width, width, 3, 1, gn_groups),
                                          ConvGNReLU1d(width, width, 3, 1, gn_groups),
                                          ConvGNReLU1d(width, width, 1, 1, gn_groups))
        self.loc_tower = nn.Sequential(ConvGNReLU1d(width, width, 3, 1, gn_groups),
                                       ConvGNReLU1d(width, width, 3, 1, gn_groups))
        self.conf_tower = nn.Sequential(ConvGNReLU1d(width, width, 3, 1, gn_groups),
                                        ConvGNReLU1d(width, width, 3, 1, gn_groups))
        self.loc_head = Unit1D(width, 2, 3)
        self.conf_head = Unit1D(width, num_classes, 3)
        self.loc_proposal_branch = ProposalBranch(width, gn_groups)
        self.conf_proposal_branch = ProposalBranch(width, gn_groups)
        self.prop_loc_head = Unit1D(width, 2, 1)
        self.prop_conf_head = Unit1D(width, num_classes, 1)
        self.center_head = Unit1D(width, 1, 3)
        self.scales = nn.ModuleList(ScaleExp() for _ in range(num_levels))
        for name, module in self.named_children():
            if name != 'backbone':  # the original initialises the head before the backbone exists
                glorot_uniform_(module)
        self.register_buffer('priors', make_priors(self.level_lengths), persistent=False)
        if self.backbone is not None and freeze_bn:
            for m in self.backbone.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    for p in m.parameters():
                        p.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and self.freeze_bn and self.backbone is not None:
            for m in self.backbone.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    def _pyramid(self, x: torch.Tensor):
        levels = self.neck(self.backbone(x) if self.backbone is not None else x)
        if [lv.shape[-1] for lv in levels] != self.level_lengths:
            raise ValueError(f'AFSDNet: pyramid lengths {[lv.shape[-1] for lv in levels]} != '
                             f'expected {self.level_lengths} for clip_length {self.clip_length}')
        frame = F.interpolate(levels[0], size=self.clip_length, mode='nearest')
        return levels, self.frame_layers(frame)

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Raw outputs.

        Returns:
            dict with ``loc`` (B,K,2) frames, ``conf`` (B,K,nc) logits, ``prop_loc`` (B,K,2),
            ``prop_conf`` (B,K,nc), ``center`` (B,K,1) logit, ``priors`` (K,) normalised,
            ``start``/``end`` (B,L,W/2) halves of ``G``, and the level-0 boundary maps
            ``start_loc_prop``/``end_loc_prop``/``start_conf_prop``/``end_conf_prop`` (B,t0,W).
        """
        levels, frame_feat = self._pyramid(x)
        out = {k: [] for k in ('loc', 'conf', 'prop_loc', 'prop_conf', 'center')}
        level0_maps = None
        for i, feat in enumerate(levels):
            loc_feat = self.loc_tower(feat)
            conf_feat = self.conf_tower(feat)
            loc = self.scales[i](self.loc_head(loc_feat)).transpose(1, 2)  # (B, t, 2)
            conf = self.conf_head(conf_feat).transpose(1, 2)
            with torch.no_grad():
                segs = level_regions(loc, self.clip_length)
                fsegs = frame_regions(loc, self.clip_length)
            loc_out, e_loc = self.loc_proposal_branch(loc_feat, frame_feat, segs, fsegs)
            conf_out, e_conf = self.conf_proposal_branch(conf_feat, frame_feat, segs, fsegs)
            if i == 0:
                level0_maps = (e_loc, e_conf)
            out['loc'].append(loc)
            out['conf'].append(conf)
            out['prop_loc'].append(self.prop_loc_head(loc_out).transpose(1, 2))
            out['prop_conf'].append(self.prop_conf_head(conf_out).transpose(1, 2))
            out['center'].append(self.center_head(loc_out).transpose(1, 2))
        result = {k: torch.cat(v, dim=1) for k, v in out.items()}
        result['priors'] = self.priors
        w = self.width
        result['start'] = frame_feat[:, :w // 2].transpose(1, 2)
        result['end'] = frame_feat[:, w // 2:].transpose(1, 2)
        e_loc, e_conf = level0_maps
        result['start_loc_prop'] = e_loc[:, :w].transpose(1, 2)
        result['end_loc_prop'] = e_loc[:, w:].transpose(1, 2)
        result['start_conf_prop'] = e_conf[:, :w].transpose(1, 2)
        result['end_conf_prop'] = e_conf[:, w:].transpose(1, 2)
        return result

    def forward_boundary_maps(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Contrastive pass (spec §4.7): ``[G (B,W,L), E_loc (B,2W,t0), E_conf (B,2W,t0)]``."""
        levels, frame_feat = self._pyramid(x)
        e_loc = self.loc_proposal_branch.lr_conv(self.loc_tower(levels[0]))
        e_conf = self.conf_proposal_branch.lr_conv(self.conf_tower(levels[0]))
        return [frame_feat, e_loc, e_conf]
