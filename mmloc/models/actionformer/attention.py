"""ActionFormer's multi-head convolutional attention (actionformer-spec §2.4).

The official code computes the local (windowed) attention with a Longformer-style
sliding-chunk trick. Here it is an exact banded formulation: queries are cut into blocks of
``block`` positions, each block attends the ``block + 2w`` keys around it through
``scaled_dot_product_attention`` with an additive band mask, so the largest score tensor is
``(B, h, T / block, block, block + 2w)``; no ``T x T`` matrix is ever built. Semantics
(spec §2.4): query ``i`` attends keys ``|i - j| <= w`` (``w = window // 2``) inside the
sequence; padded keys get ``-1e4`` added to their score, keys beyond the ends are excluded.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import LayerNorm, MaskedConv1D

#: what the official kernel adds to the scores of padded keys (not -inf)
PADDED_KEY_SCORE = -1e4


def local_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, kv_mask: torch.Tensor,
                    window: int, block: Optional[int] = None) -> torch.Tensor:
    """Banded multi-head attention, exact (no ``T x T`` tensor).

    Args:
        q, k, v: ``(B, h, T, d)``; scores are ``q k^T / sqrt(d)``.
        kv_mask: ``(B, T)`` bool, True on valid keys.
        window: odd window; query ``i`` sees keys ``j`` with ``|i - j| <= window // 2``.
        block: queries per block (default ``max(2 * (window // 2), 16)``).

    Returns:
        ``(B, h, T, d)``; rows of padded queries hold finite values the caller masks.
    """
    B, h, T, d = q.shape
    w = window // 2
    block = int(block or max(2 * w, 16))
    n = -(-T // block)
    span = block + 2 * w
    pad_q = n * block - T
    qb = F.pad(q, (0, 0, 0, pad_q)).view(B, h, n, block, d)
    kp = F.pad(k, (0, 0, w, pad_q + w))
    vp = F.pad(v, (0, 0, w, pad_q + w))
    # (B, h, n, span, d) windows of keys / values around each query block, copied once into
    # a dense layout: on the overlapping unfold view the batched matmuls of the attention
    # (and of its backward) fall back to one small copy per block (same numbers, ~2x slower
    # on CPU, benchmarks/actionformer.py)
    kb = kp.unfold(2, span, block).transpose(-1, -2).contiguous()
    vb = vp.unfold(2, span, block).transpose(-1, -2).contiguous()
    # key j = blk * block + b - w for local key b; band: 0 <= b - a <= 2w
    a = torch.arange(block, device=q.device)
    b = torch.arange(span, device=q.device)
    band = ((b[None, :] - a[:, None]) >= 0) & ((b[None, :] - a[:, None]) <= 2 * w)
    key_pos = torch.arange(n, device=q.device)[:, None] * block + b[None, :] - w   # (n, span)
    inside = (key_pos >= 0) & (key_pos < T)
    valid = F.pad(kv_mask, (w, pad_q + w)).unfold(1, span, block)                # (B, n, span)
    low = torch.finfo(q.dtype).min
    bias = torch.where(valid, 0.0, PADDED_KEY_SCORE).to(q.dtype)                  # (B, n, span)
    allowed = band[None, None] & inside[None, :, None, :]                         # (1, n, blk, span)
    mask = torch.where(allowed, bias[:, :, None, :], torch.tensor(low, dtype=q.dtype,
                                                                   device=q.device))
    out = F.scaled_dot_product_attention(qb, kb, vb, attn_mask=mask[:, None])
    return out.reshape(B, h, n * block, d)[:, :, :T]


def global_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     kv_mask: torch.Tensor) -> torch.Tensor:
    """Full attention over the valid keys (padded keys excluded, their values zeroed).

    ``q, k, v``: ``(B, h, T, d)``; ``kv_mask``: ``(B, T)`` bool. Returns ``(B, h, T, d)``.
    """
    v = v * kv_mask[:, None, :, None].to(v.dtype)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=kv_mask[:, None, None, :])


class MaskedMHCA(nn.Module):
    """Multi-head conv attention, local (``window > 1``) or global (``window <= 1``).

    Depthwise conv + LayerNorm on the query, key and value (kernel 3 at stride 1, ``s + 1``
    at stride ``s``), 1x1 projections, attention, 1x1 output projection times the output
    mask. State-dict names are the official ones (``query_conv``, ``query_norm``, ``query``,
    ..., ``proj``); the local and global variants have the same keys.

    Args:
        dim: D. num_heads: h (D / h per head). window: attention window (odd) or <= 1.
        stride: 1 or an even down-sampling stride of the queries and keys.
        block: query block of :func:`local_attention`.
    """

    def __init__(self, dim: int, num_heads: int = 4, window: int = -1, stride: int = 1,
                 block: Optional[int] = None) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'MaskedMHCA: dim {dim} is not a multiple of num_heads {num_heads}')
        if stride != 1 and stride % 2:
            raise ValueError(f'MaskedMHCA: stride must be 1 or even, got {stride}')
        self.dim, self.num_heads, self.window, self.stride = dim, num_heads, window, stride
        self.block = block
        kernel = stride + 1 if stride > 1 else 3
        for name in ('query', 'key', 'value'):
            setattr(self, f'{name}_conv', MaskedConv1D(dim, dim, kernel, stride, groups=dim,
                                                        bias=False))
            setattr(self, f'{name}_norm', LayerNorm(dim))
        self.key = nn.Conv1d(dim, dim, 1)
        self.query = nn.Conv1d(dim, dim, 1)
        self.value = nn.Conv1d(dim, dim, 1)
        self.proj = nn.Conv1d(dim, dim, 1)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        B, C, T = x.shape
        return x.view(B, self.num_heads, C // self.num_heads, T).transpose(2, 3)

    def forward(self, x: torch.Tensor, mask: torch.Tensor):
        """``x`` (B, D, T), ``mask`` (B, 1, T) -> ``(out (B, D, T / s), mask (B, 1, T / s))``."""
        q, q_mask = self.query_conv(x, mask)
        k, kv_mask = self.key_conv(x, mask)
        v, _ = self.value_conv(x, mask)
        q = self._heads(self.query(self.query_norm(q)))
        k = self._heads(self.key(self.key_norm(k)))
        v = self._heads(self.value(self.value_norm(v)))
        if self.window > 1:
            out = local_attention(q, k, v, kv_mask[:, 0], self.window, self.block)
        else:
            out = global_attention(q, k, v, kv_mask[:, 0])
        B, h, T, d = out.shape
        out = out.transpose(2, 3).reshape(B, h * d, T)
        return self.proj(out) * q_mask.to(out.dtype), q_mask


__all__ = ['local_attention', 'global_attention', 'MaskedMHCA', 'PADDED_KEY_SCORE']
