"""Inception-v1 I3D up to ``Mixed_5c`` in the pytorch-i3d layout (AFSD spec §2.1).

Pure PyTorch, TF-same padding everywhere. ``load_i3d_checkpoint`` loads a **local**
Kinetics checkpoint (``rgb_imagenet.pt`` / ``flow_imagenet.pt``) strictly: every key except
``logits.*`` must match, so a wrong file is an error rather than a silently random backbone.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from typing import Dict, Sequence, Tuple

import torch
from torch import nn

from mmloc.registry import MODELS

from .layers import MaxPool3dSame, Unit3D

# Inception widths [b0, b1a, b1b, b2a, b2b, b3b] and input channels, pytorch-i3d order.
INCEPTION_WIDTHS = OrderedDict([
    ('Mixed_3b', (192, (64, 96, 128, 16, 32, 32))),
    ('Mixed_3c', (256, (128, 128, 192, 32, 96, 64))),
    ('Mixed_4b', (480, (192, 96, 208, 16, 48, 64))),
    ('Mixed_4c', (512, (160, 112, 224, 24, 64, 64))),
    ('Mixed_4d', (512, (128, 128, 256, 24, 64, 64))),
    ('Mixed_4e', (512, (112, 144, 288, 32, 64, 64))),
    ('Mixed_4f', (528, (256, 160, 320, 32, 128, 128))),
    ('Mixed_5b', (832, (256, 160, 320, 32, 128, 128))),
    ('Mixed_5c', (832, (384, 192, 384, 48, 128, 128))),
])


class InceptionBlock(nn.Module):
    """Four branches (1x1 | 1x1->3^3 | 1x1->3^3 | maxpool 3^3 s1 -> 1x1), concatenated."""

    def __init__(self, in_channels: int, widths: Sequence[int]):
        super().__init__()
        o0, o1, o2, o3, o4, o5 = widths
        self.b0 = Unit3D(in_channels, o0, (1, 1, 1))
        self.b1a = Unit3D(in_channels, o1, (1, 1, 1))
        self.b1b = Unit3D(o1, o2, (3, 3, 3))
        self.b2a = Unit3D(in_channels, o3, (1, 1, 1))
        self.b2b = Unit3D(o3, o4, (3, 3, 3))
        self.b3a = MaxPool3dSame((3, 3, 3), (1, 1, 1))
        self.b3b = Unit3D(in_channels, o5, (1, 1, 1))
        self.out_channels = o0 + o2 + o4 + o5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)),
                          self.b3b(self.b3a(x))], dim=1)


@MODELS.register_module()
class InceptionI3d(nn.Module):
    """I3D returning the ``Mixed_4f`` (C4, 832 ch, T/4) and ``Mixed_5c`` (C5, 1024 ch, T/8) maps.

    Args:
        in_channels: 3 (RGB) or 2 (flow).
        pretrained: optional path of a local pytorch-i3d checkpoint, loaded strictly.
        out_endpoints: names returned by ``forward`` as a dict.

    Input ``(B, C, T, H, W)`` in [-1, 1]; for ``(B,3,256,96,96)`` C4 is ``(B,832,64,6,6)``
    and C5 ``(B,1024,32,3,3)``.
    """

    c4_channels = 832
    c5_channels = 1024
    #: the weight whose dimension 1 is ``in_channels`` (3 RGB, 2 flow)
    INPUT_LAYER = 'Conv3d_1a_7x7.conv3d.weight'

    def __init__(self, in_channels: int = 3, pretrained: str | None = None,
                 out_endpoints: Tuple[str, ...] = ('Mixed_4f', 'Mixed_5c')):
        super().__init__()
        self.out_endpoints = tuple(out_endpoints)
        self.Conv3d_1a_7x7 = Unit3D(in_channels, 64, (7, 7, 7), (2, 2, 2))
        self.MaxPool3d_2a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(64, 64, (1, 1, 1))
        self.Conv3d_2c_3x3 = Unit3D(64, 192, (3, 3, 3))
        self.MaxPool3d_3a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Mixed_3b = InceptionBlock(*INCEPTION_WIDTHS['Mixed_3b'])
        self.Mixed_3c = InceptionBlock(*INCEPTION_WIDTHS['Mixed_3c'])
        self.MaxPool3d_4a_3x3 = MaxPool3dSame((3, 3, 3), (2, 2, 2))
        for name in ('Mixed_4b', 'Mixed_4c', 'Mixed_4d', 'Mixed_4e', 'Mixed_4f'):
            setattr(self, name, InceptionBlock(*INCEPTION_WIDTHS[name]))
        self.MaxPool3d_5a_2x2 = MaxPool3dSame((2, 2, 2), (2, 2, 2))
        self.Mixed_5b = InceptionBlock(*INCEPTION_WIDTHS['Mixed_5b'])
        self.Mixed_5c = InceptionBlock(*INCEPTION_WIDTHS['Mixed_5c'])
        self._order = ('Conv3d_1a_7x7', 'MaxPool3d_2a_3x3', 'Conv3d_2b_1x1', 'Conv3d_2c_3x3',
                       'MaxPool3d_3a_3x3', 'Mixed_3b', 'Mixed_3c', 'MaxPool3d_4a_3x3',
                       'Mixed_4b', 'Mixed_4c', 'Mixed_4d', 'Mixed_4e', 'Mixed_4f',
                       'MaxPool3d_5a_2x2', 'Mixed_5b', 'Mixed_5c')
        unknown = set(self.out_endpoints) - set(self._order)
        if unknown:
            raise ValueError(f'InceptionI3d: unknown out_endpoints {sorted(unknown)}')
        if pretrained:
            load_i3d_checkpoint(self, pretrained)

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        out = {}
        last = max(self._order.index(n) for n in self.out_endpoints)
        for name in self._order[:last + 1]:
            x = getattr(self, name)(x)
            if name in self.out_endpoints:
                out[name] = x
        return out


def load_i3d_checkpoint(model: nn.Module, path: str) -> None:
    """Load a local pytorch-i3d state dict into ``model``; every non-``logits`` key must match.

    Raises:
        FileNotFoundError: ``path`` is not a local file (nothing is downloaded).
        KeyError / ValueError: missing, unexpected or mis-shaped keys, listed by name.
    """
    if not isinstance(path, (str, os.PathLike)) or not os.path.isfile(path):
        raise FileNotFoundError(
            f'I3D checkpoint {path!r} is not a local file; AFSD never downloads weights at run '
            'time: put pytorch-i3d\'s rgb_imagenet.pt / flow_imagenet.pt there')
    state = torch.load(path, map_location='cpu', weights_only=True)
    if isinstance(state, dict) and 'state_dict' in state:
        state = state['state_dict']
    if not isinstance(state, dict):
        raise ValueError(f'{path}: expected a state dict, got {type(state).__name__}')
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    state = {k: v for k, v in state.items() if not k.startswith('logits.')}
    own = model.state_dict()
    # Old checkpoints predate BatchNorm's num_batches_tracked buffer: not a weight, not required.
    required = {k for k in own if not k.endswith('num_batches_tracked')}
    missing = sorted(required - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise KeyError(f'{path}: I3D checkpoint does not match the model: '
                       f'{len(missing)} missing key(s) {missing[:8]}, '
                       f'{len(unexpected)} unexpected key(s) {unexpected[:8]}')
    bad = [f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}'
           for k, v in state.items() if tuple(v.shape) != tuple(own[k].shape)]
    if bad:
        raise ValueError(f'{path}: I3D checkpoint shape mismatch: {bad[:8]}')
    model.load_state_dict(state, strict=False)
