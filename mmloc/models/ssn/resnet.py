"""ResNet-50 backbone for SSN frames, written here (torchvision is not a dependency).

Module names follow MMAction2 0.x's ResNet (``conv1.conv``, ``conv1.bn``,
``layerX.Y.convK.{conv,bn}``, ``layerX.Y.downsample.{conv,bn}``) so 0.x SSN checkpoints
load as they are; ``load_torchvision_resnet`` maps an ImageNet checkpoint in torchvision
naming (``conv1.weight``, ``bn1.*``, ``downsample.0/1``) from a local path.
"""
from __future__ import annotations

import re
from typing import Optional, Sequence

import torch
from torch import nn

from mmloc.registry import MODELS


class ConvBN(nn.Module):
    """Conv2d (no bias) + BatchNorm2d (+ ReLU); names ``conv`` / ``bn`` like mmcv ConvModule."""

    def __init__(self, cin, cout, kernel, stride=1, padding=0, relu=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = relu

    def forward(self, x):
        x = self.bn(self.conv(x))
        return torch.relu(x) if self.relu else x


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample: Optional[nn.Module] = None):
        super().__init__()
        # 'pytorch' style: the stride sits in the 3x3 conv.
        self.conv1 = ConvBN(inplanes, planes, 1)
        self.conv2 = ConvBN(planes, planes, 3, stride, 1)
        self.conv3 = ConvBN(planes, planes * 4, 1, relu=False)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        return torch.relu(self.conv3(self.conv2(self.conv1(x))) + identity)


@MODELS.register_module()
class SSNResNet(nn.Module):
    """ResNet (default depth 50) returning the last feature map (N, 2048, H/32, W/32).

    Args:
        depth: 50 or 101. pretrained: local path of an ImageNet checkpoint in torchvision
            or 0.x naming (loaded by ``init_weights``), or None.
        partial_bn: freeze every BatchNorm except the first (0.x ``partial_bn=True``).
        norm_eval: put all BatchNorms in eval mode during training.
    """

    arch = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}

    def __init__(self, depth: int = 50, pretrained: Optional[str] = None,
                 partial_bn: bool = True, norm_eval: bool = False,
                 base_channels: int = 64):
        super().__init__()
        if depth not in self.arch:
            raise ValueError(f'SSNResNet: depth must be one of {sorted(self.arch)}, got {depth}')
        self.pretrained = pretrained
        self.partial_bn = partial_bn
        self.norm_eval = norm_eval
        self.conv1 = ConvBN(3, base_channels, 7, 2, 3)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = base_channels
        for i, blocks in enumerate(self.arch[depth]):
            planes = base_channels * 2 ** i
            stride = 1 if i == 0 else 2
            layers = []
            for b in range(blocks):
                down = None
                if b == 0 and (stride != 1 or inplanes != planes * 4):
                    down = ConvBN(inplanes, planes * 4, 1, stride, relu=False)
                layers.append(Bottleneck(inplanes, planes, stride if b == 0 else 1, down))
                inplanes = planes * 4
            self.add_module(f'layer{i + 1}', nn.Sequential(*layers))
        self.feat_dim = inplanes
        self._init_random()
        if pretrained:
            self.init_weights()

    def _init_random(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def init_weights(self):
        if self.pretrained:
            load_torchvision_resnet(self, self.pretrained)

    def forward(self, x):
        x = self.maxpool(self.conv1(x))
        for i in range(1, 5):
            x = getattr(self, f'layer{i}')(x)
        return x

    def train(self, mode: bool = True):
        super().train(mode)
        bns = [m for m in self.modules() if isinstance(m, nn.BatchNorm2d)]
        if mode and self.norm_eval:
            for m in bns:
                m.eval()
        if mode and self.partial_bn:
            for m in bns[1:]:
                m.eval()
                m.weight.requires_grad_(False)
                m.bias.requires_grad_(False)
        return self


_TV_RULES = [
    (re.compile(r'^conv1\.weight$'), 'conv1.conv.weight'),
    (re.compile(r'^bn1\.(.+)$'), r'conv1.bn.\1'),
    (re.compile(r'^(layer\d+\.\d+)\.conv(\d)\.weight$'), r'\1.conv\2.conv.weight'),
    (re.compile(r'^(layer\d+\.\d+)\.bn(\d)\.(.+)$'), r'\1.conv\2.bn.\3'),
    (re.compile(r'^(layer\d+\.\d+)\.downsample\.0\.(.+)$'), r'\1.downsample.conv.\2'),
    (re.compile(r'^(layer\d+\.\d+)\.downsample\.1\.(.+)$'), r'\1.downsample.bn.\2'),
]


def torchvision_to_mmloc_keys(state_dict: dict) -> dict:
    """Rename torchvision ResNet keys to ours; drops ``fc.*``; leaves ours untouched."""
    out = {}
    for key, value in state_dict.items():
        key = key[len('module.'):] if key.startswith('module.') else key
        if key.startswith('fc.'):
            continue
        for pattern, repl in _TV_RULES:
            if pattern.match(key):
                key = pattern.sub(repl, key)
                break
        out[key] = value
    return out


def load_torchvision_resnet(model: nn.Module, path: str,
                            ignore_prefixes: Sequence[str] = ()) -> None:
    """Load ImageNet weights from a local file (torchvision or 0.x naming), strictly.

    Raises a ``KeyError`` naming the file and the missing / unexpected keys.
    """
    from mmloc.utils.checkpoint import safe_torch_load
    ckpt = safe_torch_load(path, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    state = {k[len('backbone.'):] if k.startswith('backbone.') else k: v
             for k, v in state.items() if not any(k.startswith(p) for p in ignore_prefixes)}
    state = torchvision_to_mmloc_keys(state)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise KeyError(f'{path}: ResNet checkpoint does not match: missing {missing[:5]}'
                       f'{"..." if len(missing) > 5 else ""}, unexpected {unexpected[:5]}'
                       f'{"..." if len(unexpected) > 5 else ""}')
    for k, v in state.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise ValueError(f'{path}: {k}: shape {tuple(v.shape)}, expected '
                             f'{tuple(own[k].shape)}')
    model.load_state_dict(state, strict=True)


@MODELS.register_module()
class SSNFeatureMLP(nn.Module):
    """Backbone for pre-extracted snippet features: identity (``hidden=()``) or an MLP.

    Input (N, C) -> output (N, D) with D = ``hidden[-1]`` (or C).
    """

    def __init__(self, in_channels: int = 2048, hidden: Sequence[int] = (),
                 dropout_ratio: float = 0.0):
        super().__init__()
        layers, c = [], in_channels
        for h in hidden:
            layers += [nn.Linear(c, h), nn.ReLU(inplace=True)]
            if dropout_ratio > 0:
                layers.append(nn.Dropout(dropout_ratio))
            c = h
        self.net = nn.Sequential(*layers)
        self.feat_dim = c

    def forward(self, x):
        return self.net(x)
