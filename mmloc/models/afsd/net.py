"""The AFSD network: a composition of registered parts (spec §2-§4)::

    backbone (InceptionI3d | TinyVideoBackbone | None for features)
      -> neck  (AFSDFramePyramid | AFSDFeaturePyramid): the pyramid levels
      -> head  (AFSDHead): frame-level feature G, coarse heads, boundary-pooled refinement

Everything here is a plain ``nn.Module`` returning raw tensors; targets, losses and
post-processing live in their own modules and the mmengine wrapper is
``mmloc.models.localizers.AFSD``.

Checkpoints: a load hook renames two older layouts, so both load strictly:

* the official AFSD release's ``BDNet`` (``coarse_pyramid_detection.*``, ``backbone._model.*``;
  :mod:`.original_checkpoint` has the key map);
* ``AFSDNet`` before its neck/head split, whose head parameters were direct children
  (``loc_tower.*`` instead of ``head.loc_tower.*``), and fusion checkpoints merged from it.
"""
from __future__ import annotations

from typing import Dict, List, Optional

import torch
from torch import nn

from mmloc.registry import MODELS

from .head import AFSDHead
from .neck import AFSDFeaturePyramid, AFSDFramePyramid  # noqa: F401 (registered parts)
from .original_checkpoint import convert_original_afsd_state_dict

#: first key component of the head's parameters in the pre-split ``AFSDNet`` layout
LEGACY_HEAD_CHILDREN = AFSDHead.CHILDREN


def upgrade_afsd_state_dict(state_dict: dict, prefix: str = '') -> dict:
    """Rename pre-split ``AFSDNet`` keys in place: ``{prefix}loc_tower.0...`` ->
    ``{prefix}head.loc_tower.0...`` (key order kept). Keys already in the new layout and
    other keys are left alone. Returns ``state_dict``."""
    if not any(k.startswith(prefix) and k[len(prefix):].split('.', 1)[0] in LEGACY_HEAD_CHILDREN
               for k in state_dict):
        return state_dict
    items = list(state_dict.items())
    state_dict.clear()
    for key, value in items:
        if key.startswith(prefix) and key[len(prefix):].split('.', 1)[0] in LEGACY_HEAD_CHILDREN:
            key = prefix + 'head.' + key[len(prefix):]
        state_dict[key] = value
    return state_dict


@MODELS.register_module()
class AFSDNet(nn.Module):
    """AFSD network (THUMOS variant): ``backbone`` -> ``neck`` -> ``head``.

    Args:
        num_classes: including background (THUMOS14: 21).
        clip_length: ``L``, frames per window.
        backbone: config of a backbone returning ``{'Mixed_4f', 'Mixed_5c'}`` maps
            (``InceptionI3d``, ``TinyVideoBackbone``), or ``None`` for feature input.
        neck: overrides of the neck config; by default ``AFSDFramePyramid`` (with a
            backbone; its channels and ``crop_size`` fix the C4/C5 kernels) or
            ``AFSDFeaturePyramid`` (``feature_channels`` inputs). ``width``,
            ``num_levels`` and ``gn_groups`` are filled in from here.
        head: overrides of the ``AFSDHead`` config (``num_classes``, ``clip_length``,
            ``width``, ``num_levels``, ``gn_groups`` filled in from here).
        feature_channels: input channels of the feature variant (``backbone=None``).
        crop_size: spatial crop (96 for I3D) fixing the level-0/1 kernels.
        width: pyramid width = ``proposal_channels``.
        num_levels: pyramid levels (6 in the paper).
        gn_groups: GroupNorm groups.
        freeze_bn: keep every backbone BatchNorm in eval mode with frozen affine parameters.

    Input: frames ``(B, C, L, crop, crop)`` in [-1, 1], or features ``(B, C_in, L/4)``.
    """

    def __init__(self, num_classes: int = 21, clip_length: int = 256,
                 backbone: Optional[dict] = None, neck: Optional[dict] = None,
                 head: Optional[dict] = None, feature_channels: int = 2048,
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
        shared = dict(width=width, num_levels=num_levels, gn_groups=gn_groups)
        if backbone is not None:
            self.backbone = MODELS.build(backbone)
            if crop_size % 32:
                raise ValueError(f'AFSDNet: crop_size {crop_size} must be a multiple of 32')
            neck_cfg = dict(type='AFSDFramePyramid', c4_channels=self.backbone.c4_channels,
                            c5_channels=self.backbone.c5_channels, c4_spatial=crop_size // 16,
                            c5_spatial=crop_size // 32, **shared)
        else:
            self.backbone = None
            neck_cfg = dict(type='AFSDFeaturePyramid', in_channels=feature_channels, **shared)
        self.neck = MODELS.build(dict(neck_cfg, **(neck or {})))
        self.head = MODELS.build(dict(dict(type='AFSDHead', num_classes=num_classes,
                                           clip_length=clip_length, **shared), **(head or {})))
        # The original initialises the head before the backbone exists: every conv but the
        # backbone's, neck first, after all parts are built (the same RNG order as before).
        for part in (self.neck, self.head):
            if hasattr(part, 'init_glorot'):
                part.init_glorot()
        if self.backbone is not None and freeze_bn:
            for m in self.backbone.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    for p in m.parameters():
                        p.requires_grad_(False)
        self._register_load_state_dict_pre_hook(self._upgrade_legacy_keys)

    @staticmethod
    def _upgrade_legacy_keys(state_dict, prefix, *args):
        convert_original_afsd_state_dict(state_dict, prefix)
        upgrade_afsd_state_dict(state_dict, prefix)

    @property
    def priors(self) -> torch.Tensor:
        """(K,) normalised location centres (the head's)."""
        return self.head.priors

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and self.freeze_bn and self.backbone is not None:
            for m in self.backbone.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    def _levels(self, x: torch.Tensor) -> List[torch.Tensor]:
        levels = self.neck(self.backbone(x) if self.backbone is not None else x)
        if [lv.shape[-1] for lv in levels] != self.level_lengths:
            raise ValueError(f'AFSDNet: pyramid lengths {[lv.shape[-1] for lv in levels]} != '
                             f'expected {self.level_lengths} for clip_length {self.clip_length}')
        return levels

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Raw outputs (see :meth:`AFSDHead.forward`)."""
        return self.head(self._levels(x))

    def forward_boundary_maps(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Contrastive pass (spec §4.7): ``[G (B,W,L), E_loc (B,2W,t0), E_conf (B,2W,t0)]``."""
        return self.head.boundary_maps(self._levels(x))
