"""AFSD head (spec §2.2 ``G``, §3.1, §4.3-4.4): the frame-level feature, the coarse towers and
heads shared by all pyramid levels, and the saliency-based refinement (boundary pooling,
proposal branches, refined heads and quality). Registered in ``MODELS``."""
from __future__ import annotations

from typing import Dict, List

import torch
import torch.nn.functional as F
from torch import nn

from mmloc.registry import MODELS

from .boundary_pooling import boundary_max_pooling, frame_regions, level_regions
from .layers import ConvGNReLU1d, ScaleExp, Unit1D, glorot_uniform_
from .targets import make_priors


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
class AFSDHead(nn.Module):
    """Coarse and refined AFSD predictions from the pyramid levels.

    Args:
        num_classes: including background (THUMOS14: 21).
        clip_length: ``L``, frames per window (distances are in its frames).
        width: pyramid width = ``proposal_channels``.
        num_levels: pyramid levels; level ``i`` has ``L / 2**(i+2)`` locations.
        gn_groups: GroupNorm groups.

    Input: the levels (B, width, t_i). Output: see :meth:`forward`.
    """

    #: parameter-holding children, in construction (and initialisation) order
    CHILDREN = ('frame_layers', 'loc_tower', 'conf_tower', 'loc_head', 'conf_head',
                'loc_proposal_branch', 'conf_proposal_branch', 'prop_loc_head',
                'prop_conf_head', 'center_head', 'scales')

    def __init__(self, num_classes: int = 21, clip_length: int = 256, width: int = 512,
                 num_levels: int = 6, gn_groups: int = 32):
        super().__init__()
        self.num_classes = num_classes
        self.clip_length = clip_length
        self.width = width
        self.level_lengths = [clip_length // 2 ** (i + 2) for i in range(num_levels)]
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
        self.register_buffer('priors', make_priors(self.level_lengths), persistent=False)

    def init_glorot(self) -> None:
        """AFSD's init of every conv (``glorot_uniform_``); ``AFSDNet`` calls it."""
        for name in self.CHILDREN:
            glorot_uniform_(getattr(self, name))

    def frame_feature(self, levels: List[torch.Tensor]) -> torch.Tensor:
        """``G`` (B, width, L): level 0 nearest-upsampled to ``L``, then the frame layers."""
        frame = F.interpolate(levels[0], size=self.clip_length, mode='nearest')
        return self.frame_layers(frame)

    def forward(self, levels: List[torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Raw outputs.

        Returns:
            dict with ``loc`` (B,K,2) frames, ``conf`` (B,K,nc) logits, ``prop_loc`` (B,K,2),
            ``prop_conf`` (B,K,nc), ``center`` (B,K,1) logit, ``priors`` (K,) normalised,
            ``start``/``end`` (B,L,W/2) halves of ``G``, and the level-0 boundary maps
            ``start_loc_prop``/``end_loc_prop``/``start_conf_prop``/``end_conf_prop`` (B,t0,W).
        """
        frame_feat = self.frame_feature(levels)
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

    def boundary_maps(self, levels: List[torch.Tensor]) -> List[torch.Tensor]:
        """Contrastive pass (spec §4.7): ``[G (B,W,L), E_loc (B,2W,t0), E_conf (B,2W,t0)]``."""
        frame_feat = self.frame_feature(levels)
        e_loc = self.loc_proposal_branch.lr_conv(self.loc_tower(levels[0]))
        e_conf = self.conf_proposal_branch.lr_conv(self.conf_tower(levels[0]))
        return [frame_feat, e_loc, e_conf]
