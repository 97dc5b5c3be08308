"""Small layers shared by ActionFormer and TriDet (actionformer-spec §2.1).

Tensors are channel-first ``(B, C, T)``; masks are bool ``(B, 1, T)``, True on valid
positions. Attribute names follow the official code, so its state dicts load by name
(see :mod:`.checkpoint`).
"""
from __future__ import annotations


import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def downsample_mask(mask: torch.Tensor, stride: int) -> torch.Tensor:
    """``(B, 1, T)`` -> ``(B, 1, T // stride)``: nearest resize, ``out[i] = mask[stride * i]``,
    so ``ceil(valid / stride)`` positions stay valid (spec §9.8)."""
    if stride == 1:
        return mask
    return mask[..., ::stride][..., :mask.shape[-1] // stride]


class MaskedConv1D(nn.Module):
    """``conv(x) * mask_out`` with an odd kernel and ``padding = k // 2``; its bias starts at 0.

    ``mask_out`` is :func:`downsample_mask` of the input mask for ``stride > 1``. The input
    length must be a multiple of the stride.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int | None = None, groups: int = 1, bias: bool = True) -> None:
        super().__init__()
        if kernel_size % 2 != 1 or (padding is not None and padding != kernel_size // 2):
            raise ValueError(f'MaskedConv1D: needs an odd kernel with padding k // 2, got '
                             f'kernel {kernel_size}, padding {padding}')
        self.stride = stride
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, stride,
                              kernel_size // 2, groups=groups, bias=bias)
        if bias:
            nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor):
        if x.shape[-1] % self.stride:
            raise ValueError(f'MaskedConv1D: length {x.shape[-1]} is not a multiple of the '
                             f'stride {self.stride}')
        out_mask = downsample_mask(mask, self.stride)
        return self.conv(x) * out_mask.to(x.dtype), out_mask


class LayerNorm(nn.Module):
    """LayerNorm over the channels of ``(B, C, T)``, biased variance, ``eps`` inside the root.

    Applied to padded positions too (their zeros become the bias; spec §10.1).
    """

    def __init__(self, num_channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(1, num_channels, 1))
        self.bias = nn.Parameter(torch.zeros(1, num_channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu = x.mean(dim=1, keepdim=True)
        res = x - mu
        sigma = (res ** 2).mean(dim=1, keepdim=True)
        return res / torch.sqrt(sigma + self.eps) * self.weight + self.bias


class Scale(nn.Module):
    """One learnable scalar (``scale``, 0-d, init 1.0) per pyramid level."""

    def __init__(self, init_value: float = 1.0) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(init_value, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


def drop_path(x: torch.Tensor, drop_prob: float, training: bool) -> torch.Tensor:
    """Stochastic depth per sample: keep with probability ``1 - p`` and divide by it."""
    if drop_prob == 0.0 or not training:
        return x
    keep = 1.0 - drop_prob
    shape = (x.shape[0],) + (1,) * (x.dim() - 1)
    return x / keep * torch.floor(keep + torch.rand(shape, dtype=x.dtype, device=x.device))


class AffineDropPath(nn.Module):
    """LayerScale then drop path: ``drop_path(scale * x)``, ``scale`` (1, C, 1) init 1e-4."""

    def __init__(self, num_channels: int, drop_prob: float = 0.0,
                 init_scale: float = 1e-4) -> None:
        super().__init__()
        self.scale = nn.Parameter(init_scale * torch.ones(1, num_channels, 1))
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return drop_path(self.scale * x, self.drop_prob, self.training)


def layer_scale(num_channels: int, drop_prob: float) -> nn.Module:
    """:class:`AffineDropPath` when ``drop_prob > 0`` (its keys exist only then), else identity."""
    return AffineDropPath(num_channels, drop_prob) if drop_prob > 0 else nn.Identity()


def sinusoid_table(max_len: int, dim: int) -> torch.Tensor:
    """``(1, dim, max_len)`` float32: ``pos / 10000^(2 (j // 2) / dim)``, sin on even ``j``,
    cos on odd ``j``, computed in float64 (spec §2.1)."""
    pos = np.arange(max_len, dtype=np.float64)[:, None]
    j = np.arange(dim)[None, :]
    angle = pos / np.power(10000.0, 2 * (j // 2) / dim)
    table = np.where(j % 2 == 0, np.sin(angle), np.cos(angle))
    return torch.from_numpy(table.T[None].astype(np.float32))


def max_div_factor(strides, windows, rule: str = 'actionformer') -> int:
    """Inference padding multiple for inputs longer than ``max_seq_len`` (spec §1.6).

    ``'actionformer'``: ``max_l s_l * (w_l // 2) * 2`` over levels with ``w_l > 1`` (``s_l``
    for global attention); ``'tridet'``: ``max_l s_l * w_l`` (``s_l`` where ``w_l <= 1``).
    """
    out = 1
    for s, w in zip(strides, windows):
        if w > 1:
            out = max(out, s * (w // 2) * 2 if rule == 'actionformer' else s * w)
        else:
            out = max(out, s)
    return int(out)



__all__ = ['MaskedConv1D', 'LayerNorm', 'Scale', 'AffineDropPath', 'layer_scale',
           'downsample_mask', 'drop_path', 'sinusoid_table', 'max_div_factor']
