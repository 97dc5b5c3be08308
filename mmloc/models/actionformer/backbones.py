"""ActionFormer's conv-transformer backbone and TriDet's SGP backbone (spec §2.2-2.3, §3.1-3.2).

Both: a conv embedding (2 x [MaskedConv1D k 3, LayerNorm, ReLU]), an optional absolute
position encoding, a stem of stride-1 blocks (pyramid level 0) and a branch of stride-2
blocks (levels 1 .. L-1). ``forward(x (B, C, T), mask (B, 1, T))`` returns the level
features ``[(B, D, T / 2^l)]`` and masks ``[(B, 1, T / 2^l)]``.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from mmloc.registry import MODELS
from .attention import MaskedMHCA
from .blocks import LayerNorm, MaskedConv1D, downsample_mask, layer_scale, sinusoid_table


def _per_level(value: Union[int, float, Sequence], num_levels: int, name: str) -> list:
    values = list(value) if isinstance(value, (list, tuple)) else [value] * num_levels
    if len(values) != num_levels:
        raise ValueError(f'{name}: expected {num_levels} values (one per level), got {values}')
    return values


class _EmbeddingBackbone(nn.Module):
    """The conv embedding and absolute PE of both backbones (state-dict names ``embd``,
    ``embd_norm``; ``pos_embd`` is a non-persistent buffer)."""

    def _build_embedding(self, in_channels: int, dim: int, kernel_size: int, num_convs: int,
                         with_ln: bool, max_len: int, use_abs_pe: bool) -> None:
        self.relu = nn.ReLU()
        self.embd = nn.ModuleList()
        self.embd_norm = nn.ModuleList()
        for i in range(num_convs):
            self.embd.append(MaskedConv1D(in_channels if i == 0 else dim, dim, kernel_size,
                                          bias=not with_ln))
            self.embd_norm.append(LayerNorm(dim) if with_ln else nn.Identity())
        self.max_len = max_len
        self.use_abs_pe = use_abs_pe
        if use_abs_pe:
            self.register_buffer('pos_embd', sinusoid_table(max_len, dim) / dim ** 0.5,
                                 persistent=False)

    def _embed(self, x: torch.Tensor, mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        for conv, norm in zip(self.embd, self.embd_norm):
            x, mask = conv(x, mask)
            x = self.relu(norm(x))
        if self.use_abs_pe:
            T = x.shape[-1]
            if self.training:
                if T > self.max_len:
                    raise ValueError(f'{type(self).__name__}: training input of {T} steps is '
                                     f'longer than max_len {self.max_len}')
                pe = self.pos_embd
            else:
                pe = (F.interpolate(self.pos_embd, T, mode='linear', align_corners=False)
                      if T >= self.max_len else self.pos_embd)
            x = x + pe[:, :, :T] * mask.to(x.dtype)
        return x, mask

    @staticmethod
    def _zero_biases(module: nn.Module) -> None:
        if isinstance(module, (nn.Conv1d, nn.Linear)) and module.bias is not None:
            nn.init.zeros_(module.bias)


class TransformerBlock(nn.Module):
    """Pre-LN transformer block (spec §2.3): ``out = Skip(x)·m' + DropPath(Attn(LN1(x)))``,
    ``out += DropPath(MLP(LN2(out))·m')``; ``Skip`` is max-pool (3, 2, 1) at stride 2."""

    def __init__(self, dim: int, num_heads: int = 4, window: int = -1, stride: int = 1,
                 drop_path: float = 0.0, mlp_ratio: int = 4, dropout: float = 0.0,
                 attn_block: int | None = None) -> None:
        super().__init__()
        self.ln1 = LayerNorm(dim)
        self.ln2 = LayerNorm(dim)
        self.attn = MaskedMHCA(dim, num_heads, window, stride, block=attn_block)
        self.pool_skip = (nn.MaxPool1d(stride + 1, stride, (stride + 1) // 2) if stride > 1
                          else nn.Identity())
        self.mlp = nn.Sequential(nn.Conv1d(dim, mlp_ratio * dim, 1), nn.GELU(),
                                 nn.Dropout(dropout), nn.Conv1d(mlp_ratio * dim, dim, 1),
                                 nn.Dropout(dropout))
        self.drop_path_attn = layer_scale(dim, drop_path)
        self.drop_path_mlp = layer_scale(dim, drop_path)

    def forward(self, x: torch.Tensor, mask: torch.Tensor):
        out, out_mask = self.attn(self.ln1(x), mask)
        m = out_mask.to(x.dtype)
        out = self.pool_skip(x) * m + self.drop_path_attn(out)
        out = out + self.drop_path_mlp(self.mlp(self.ln2(out)) * m)
        return out, out_mask


@MODELS.register_module()
class ActionFormerBackbone(_EmbeddingBackbone):
    """ActionFormer's ``convTransformer`` (spec §2.2), ``arch = (convs, stem, branch)``.

    Args:
        in_channels: C of the features. dim: D (``embd_dim``). num_heads: 4.
        windows: ``n_mha_win_size``, an int or one per level (``<= 1``: global attention).
        max_len: ``max_seq_len`` (length of the PE table). use_abs_pe: ANet's PE.
        drop_path: ``droppath`` (LayerScale keys exist only when > 0).
        attn_block: query block of the banded attention (speed only; same numbers).
    """

    def __init__(self, in_channels: int, dim: int = 512, num_heads: int = 4,
                 embd_kernel_size: int = 3, embd_with_ln: bool = True, max_len: int = 2304,
                 arch: Sequence[int] = (2, 2, 5), windows: Union[int, Sequence[int]] = 19,
                 scale_factor: int = 2, drop_path: float = 0.1, dropout: float = 0.0,
                 use_abs_pe: bool = False, attn_block: int | None = None) -> None:
        super().__init__()
        self.arch = tuple(arch)
        self.windows = _per_level(windows, arch[2] + 1, 'ActionFormerBackbone windows')
        self.scale_factor = scale_factor
        self._build_embedding(in_channels, dim, embd_kernel_size, arch[0], embd_with_ln,
                              max_len, use_abs_pe)
        kw = dict(num_heads=num_heads, drop_path=drop_path, dropout=dropout,
                  attn_block=attn_block)
        self.stem = nn.ModuleList(TransformerBlock(dim, window=self.windows[0], **kw)
                                  for _ in range(arch[1]))
        self.branch = nn.ModuleList(
            TransformerBlock(dim, window=self.windows[1 + i], stride=scale_factor, **kw)
            for i in range(arch[2]))
        self.apply(self._zero_biases)

    @property
    def strides(self) -> List[int]:
        return [self.scale_factor ** i for i in range(self.arch[2] + 1)]

    def forward(self, x: torch.Tensor, mask: torch.Tensor):
        x, mask = self._embed(x, mask)
        for block in self.stem:
            x, mask = block(x, mask)
        feats, masks = [x], [mask]
        for block in self.branch:
            x, mask = block(x, mask)
            feats.append(x)
            masks.append(mask)
        return feats, masks


def sgp_expanded_kernel(kernel_size: int, k: float) -> int:
    """TriDet's ``k_up = round((k_size + 1) * k)``, plus 1 if even (spec §3.2, §9.12)."""
    up = round((kernel_size + 1) * k)
    return up + 1 if up % 2 == 0 else up


class SGPBlock(nn.Module):
    """TriDet's Scalable-Granularity Perception block (spec §3.2).

    ``x <- Down(x)``; ``u = LN(x)``; ``v = fc(u)·relu(global_fc(mean_T u)) + (convw(u) +
    convkw(u))·psi(u) + u``; ``out = x·m' + DropPath(v)``;
    ``out += DropPath(MLP(GN(out)))``. Only the residual is masked, and the mean and the
    GroupNorm run over padded positions too, as upstream (spec §10.1).
    """

    def __init__(self, dim: int, kernel_size: int = 3, stride: int = 1, k: float = 1.5,
                 mlp_dim: int | None = None, drop_path: float = 0.0,
                 init_conv_vars: float = 0.0, downsample_type: str = 'max',
                 gn_groups: int = 16) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f'SGPBlock: kernel_size must be odd, got {kernel_size}')
        self.stride = stride
        up = sgp_expanded_kernel(kernel_size, k)
        self.ln = LayerNorm(dim)
        self.gn = nn.GroupNorm(gn_groups, dim)
        dw = dict(groups=dim)
        self.psi = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2, **dw)
        self.fc = nn.Conv1d(dim, dim, 1, **dw)
        self.convw = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2, **dw)
        self.convkw = nn.Conv1d(dim, dim, up, padding=up // 2, **dw)
        self.global_fc = nn.Conv1d(dim, dim, 1, **dw)
        if stride > 1:
            if downsample_type == 'max':
                self.downsample = nn.MaxPool1d(stride + 1, stride, (stride + 1) // 2)
            elif downsample_type == 'avg':
                self.downsample = nn.Sequential(nn.AvgPool1d(stride, stride),
                                                nn.Conv1d(dim, dim, 1))
            else:
                raise ValueError(f"SGPBlock: downsample_type must be 'max' or 'avg', got "
                                 f'{downsample_type!r}')
        else:
            self.downsample = nn.Identity()
        mlp_dim = mlp_dim or 4 * dim
        self.mlp = nn.Sequential(nn.Conv1d(dim, mlp_dim, 1), nn.GELU(),
                                 nn.Conv1d(mlp_dim, dim, 1))
        self.drop_path_out = layer_scale(dim, drop_path)
        self.drop_path_mlp = layer_scale(dim, drop_path)
        for conv in (self.psi, self.fc, self.convw, self.convkw, self.global_fc):
            nn.init.normal_(conv.weight, 0.0, init_conv_vars)   # std; 0 makes them exactly 0
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor):
        out_mask = downsample_mask(mask, self.stride)
        x = self.downsample(x)
        u = self.ln(x)
        phi = torch.relu(self.global_fc(u.mean(dim=-1, keepdim=True)))
        v = self.fc(u) * phi + (self.convw(u) + self.convkw(u)) * self.psi(u) + u
        out = x * out_mask.to(x.dtype) + self.drop_path_out(v)
        out = out + self.drop_path_mlp(self.mlp(self.gn(out)))
        return out, out_mask


@MODELS.register_module()
class TriDetBackbone(_EmbeddingBackbone):
    """TriDet's ``SGP`` backbone (spec §3.1): stem of SGP blocks with kernel 1 and no drop
    path, branch of stride-2 SGP blocks with kernel ``windows[i + 1]`` and drop path.

    Args:
        windows: ``n_sgp_win_size`` (int or one per level; entry 0 unused).
        k: ``k`` of the expanded kernel. mlp_dim: ``sgp_mlp_dim``.
        init_conv_vars: std of the SGP branch init (0 in THUMOS / EPIC: dead branches).
    """

    def __init__(self, in_channels: int, dim: int = 512, embd_kernel_size: int = 3,
                 embd_with_ln: bool = True, max_len: int = 2304,
                 arch: Sequence[int] = (2, 2, 5), windows: Union[int, Sequence[int]] = 1,
                 k: float = 1.5, mlp_dim: int = 768, scale_factor: int = 2,
                 drop_path: float = 0.1, init_conv_vars: float = 0.0,
                 downsample_type: str = 'max', use_abs_pe: bool = False) -> None:
        super().__init__()
        self.arch = tuple(arch)
        self.windows = _per_level(windows, arch[2] + 1, 'TriDetBackbone windows')
        self.scale_factor = scale_factor
        self._build_embedding(in_channels, dim, embd_kernel_size, arch[0], embd_with_ln,
                              max_len, use_abs_pe)
        kw = dict(k=k, mlp_dim=mlp_dim, init_conv_vars=init_conv_vars,
                  downsample_type=downsample_type)
        self.stem = nn.ModuleList(SGPBlock(dim, 1, 1, **kw) for _ in range(arch[1]))
        self.branch = nn.ModuleList(
            SGPBlock(dim, self.windows[1 + i], scale_factor, drop_path=drop_path, **kw)
            for i in range(arch[2]))
        # upstream zeroes every conv/linear bias of the backbone after building it
        self.apply(self._zero_biases)

    strides = ActionFormerBackbone.strides
    forward = ActionFormerBackbone.forward
