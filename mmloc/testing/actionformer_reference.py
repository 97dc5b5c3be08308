"""ActionFormer's official local-attention formulation, for tests and benchmarks only.

:func:`sliding_chunk_attention` computes the windowed attention the way the official code
does (actionformer-spec §2.4, a Longformer-style trick), written from the spec: keys and
queries cut into overlapping chunks of ``2w`` positions every ``w``, all chunk scores
computed (``(B, h, T/w - 1, 2w, 2w)``), each query's ``2w + 1`` band scores gathered from
a chunk holding both ends, padded keys ``-1e4``, out-of-sequence keys ``-inf``, softmax,
rows of padded queries zeroed, then the probabilities re-laid as ``(T/w, w, 3w)`` diagonals
and multiplied with value chunks of ``3w`` positions. mmloc's model uses
:func:`mmloc.models.actionformer.attention.local_attention` instead; the tests prove the
two equal, the benchmark times both.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _band_index(T: int, w: int, device) -> tuple:
    """Flat chunk-score index of (query i, band slot o) and whether key ``i + o - w`` exists."""
    n = T // w - 1
    i = torch.arange(T, device=device)[:, None]
    o = torch.arange(2 * w + 1, device=device)[None, :]
    j = i + o - w
    inside = (j >= 0) & (j < T)
    lo = torch.minimum(i, j).clamp(min=0)
    c = torch.clamp(lo // w, max=n - 1)
    a = i - c * w
    b = (j - c * w).clamp(0, 2 * w - 1)
    return (c * (2 * w) + a) * (2 * w) + b, inside


def sliding_chunk_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                            kv_mask: torch.Tensor, window: int) -> torch.Tensor:
    """q, k, v ``(B, h, T, d)``, kv_mask ``(B, T)`` bool -> ``(B, h, T, d)``.

    ``T`` must be a multiple of ``2 * (window // 2)`` (as upstream asserts).
    """
    B, h, T, d = q.shape
    w = window // 2
    if T % (2 * w):
        raise ValueError(f'sliding_chunk_attention: T={T} is not a multiple of {2 * w}')
    q = q * (1.0 / math.sqrt(d))
    chunk_q = q.unfold(2, 2 * w, w).transpose(-1, -2)               # (B, h, n, 2w, d)
    chunk_k = k.unfold(2, 2 * w, w).transpose(-1, -2)
    chunk_s = torch.einsum('bhcxd,bhcyd->bhcxy', chunk_q, chunk_k)   # (B, h, n, 2w, 2w)
    idx, inside = _band_index(T, w, q.device)
    scores = chunk_s.reshape(B, h, -1)[:, :, idx.reshape(-1)].view(B, h, T, 2 * w + 1)
    key_bias = torch.where(kv_mask, 0.0, -1e4).to(q.dtype)                  # (B, T)
    j = (torch.arange(T, device=q.device)[:, None] + torch.arange(2 * w + 1, device=q.device)
         - w).clamp(0, T - 1)
    scores = scores + key_bias[:, None, j]
    scores = scores.masked_fill(~inside, float('-inf'))
    att = torch.softmax(scores, dim=-1)
    att = att.masked_fill(~kv_mask[:, None, :, None], 0.0)
    # probabilities as diagonals of (T/w) chunks of w queries x 3w keys
    probs = att.view(B, h, T // w, w, 2 * w + 1)
    diag = probs.new_zeros(B, h, T // w, w, 3 * w)
    pos = (torch.arange(w, device=q.device)[:, None]
           + torch.arange(2 * w + 1, device=q.device)[None, :])
    diag.scatter_(-1, pos.expand(B, h, T // w, w, 2 * w + 1), probs)
    vp = F.pad(v, (0, 0, w, w), value=-1.0)
    chunk_v = vp.unfold(2, 3 * w, w).transpose(-1, -2)               # (B, h, T/w, 3w, d)
    out = torch.einsum('bhcxy,bhcyd->bhcxd', diag, chunk_v)
    return out.reshape(B, h, T, d)
