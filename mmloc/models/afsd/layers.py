"""Building blocks with TensorFlow-style "same" padding (AFSD spec §0, §2.1).

AFSD and its I3D pad every conv and max-pool the TF way: the total pad depends on
``n mod stride`` and the **extra** element goes at the back (k3/s2 on an even length pads
0 in front, 1 at the back). PyTorch's symmetric ``padding=k//2`` would shift every output
by one step, so converted checkpoints would not give the original outputs.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn


def tf_same_pad(n: int, kernel: int, stride: int) -> Tuple[int, int]:
    """(front, back) zero padding of one dimension of size ``n``; output size ``ceil(n/stride)``."""
    if n % stride == 0:
        total = max(kernel - stride, 0)
    else:
        total = max(kernel - n % stride, 0)
    return total // 2, total - total // 2


def pad_same(x: torch.Tensor, kernel: Sequence[int], stride: Sequence[int],
             value: float = 0.0) -> torch.Tensor:
    """Pad the last ``len(kernel)`` dims of ``x`` TF-"same" style (zero fill by default)."""
    dims = len(kernel)
    pads = []
    # F.pad takes pairs starting from the LAST dimension.
    for d in range(dims - 1, -1, -1):
        pads.extend(tf_same_pad(x.shape[x.dim() - dims + d], kernel[d], stride[d]))
    if not any(pads):
        return x
    return F.pad(x, pads, value=value)


class Unit1D(nn.Module):
    """Conv1d (with bias) on ``(B, C, T)`` with TF-same padding in time."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1,
                 stride: int = 1, bias: bool = True):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride
        self.conv1d = nn.Conv1d(in_channels, out_channels, kernel_size, stride, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv1d(pad_same(x, (self.kernel_size,), (self.stride,)))


class Unit3D(nn.Module):
    """I3D unit: Conv3d (no bias) + BatchNorm3d (eps 1e-3, momentum 0.01) + ReLU, TF-same.

    Parameter names (``conv3d.*``, ``bn.*``) follow the pytorch-i3d checkpoint layout so
    ``rgb_imagenet.pt`` / ``flow_imagenet.pt`` load strictly. ``use_bn=False`` gives a
    conv with bias instead (for the tiny demo backbone, where batch statistics of 2-4 clips
    would make train and test behave differently).
    """

    def __init__(self, in_channels: int, out_channels: int,
                 kernel_size: Sequence[int] = (1, 1, 1), stride: Sequence[int] = (1, 1, 1),
                 use_bn: bool = True, activation: bool = True):
        super().__init__()
        self.kernel_size = tuple(kernel_size)
        self.stride = tuple(stride)
        self.conv3d = nn.Conv3d(in_channels, out_channels, self.kernel_size, self.stride,
                                padding=0, bias=not use_bn)
        self.bn = nn.BatchNorm3d(out_channels, eps=1e-3, momentum=0.01) if use_bn else None
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv3d(pad_same(x, self.kernel_size, self.stride))
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x) if self.activation else x


class MaxPool3dSame(nn.Module):
    """3D max-pool preceded by TF-same **zero** padding (as pytorch-i3d does)."""

    def __init__(self, kernel_size: Sequence[int], stride: Sequence[int]):
        super().__init__()
        self.kernel_size = tuple(kernel_size)
        self.stride = tuple(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool3d(pad_same(x, self.kernel_size, self.stride),
                            self.kernel_size, self.stride)


class ConvGNReLU1d(nn.Module):
    """``Unit1D`` + GroupNorm + ReLU, the block used throughout AFSD's head."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, gn_groups: int = 32):
        super().__init__()
        self.conv = Unit1D(in_channels, out_channels, kernel_size, stride)
        self.gn = nn.GroupNorm(gn_groups, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.gn(self.conv(x)))


class ScaleExp(nn.Module):
    """``exp(s * x)`` with a learnable scalar ``s`` (init 1): positive distances in frames."""

    def __init__(self, init_value: float = 1.0):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor([float(init_value)]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x * self.scale)


def glorot_uniform_(module: nn.Module) -> None:
    """AFSD head init: every Conv1d/Conv3d gets ``U(-a, a)``, ``a = sqrt(3/max(1,(fi+fo)/2))``, bias 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv3d)):
            receptive = m.weight[0, 0].numel()
            fan_in = m.in_channels * receptive // m.groups
            fan_out = m.out_channels * receptive
            bound = (3.0 / max(1.0, (fan_in + fan_out) / 2.0)) ** 0.5
            nn.init.uniform_(m.weight, -bound, bound)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
