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

import numpy as np
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


def kernel_soft_nms_loop(segs: np.ndarray, scores: np.ndarray, sigma: float,
                         min_score: float) -> tuple:
    """actionformer-spec §6.2's description of ``softnms_1d_cpu``, candidate by candidate, on
    np.float32 scalars: first maximum of sc[i:n], swap into i, decay each later one and, if it
    falls below min_score, move the last one into its place and look at that place again.

    segs ``(N, 2)``, scores ``(N,)`` -> ``(inds (K,) int64, dets (K, 3) float32
    [start, end, score])`` in selection order, as
    :func:`~mmloc.models.post_processing.nms.actionformer_soft_nms` returns them.
    """
    f = np.float32
    x1, x2 = [f(v) for v in segs[:, 0]], [f(v) for v in segs[:, 1]]
    sc = [f(v) for v in scores]
    area = [(b - a) + f(1e-6) for a, b in zip(x1, x2)]
    ids = list(range(len(sc)))
    cols = (x1, x2, sc, area, ids)
    n, i, out = len(sc), 0, []
    while i < n:
        m = i
        for pos in range(i + 1, n):
            if sc[m] < sc[pos]:
                m = pos
        for c in cols:
            c[i], c[m] = c[m], c[i]
        out.append((ids[i], x1[i], x2[i], sc[i]))
        pos = i + 1
        while pos < n:
            inter = max(f(0), min(x2[i], x2[pos]) - max(x1[i], x1[pos]))
            ovr = inter / (area[i] + area[pos] - inter)
            sc[pos] = sc[pos] * f(math.exp(float(-(ovr * ovr) / f(sigma))))
            if sc[pos] < f(min_score):
                for c in cols:
                    c[pos] = c[n - 1]
                n -= 1
                continue
            pos += 1
        i += 1
    inds = np.array([o[0] for o in out], np.int64)
    return inds, np.array([o[1:] for o in out], np.float32).reshape(-1, 3)


def kernel_multiclass_nms(segs: np.ndarray, scores: np.ndarray, labels: np.ndarray,
                          sigma: float, min_score: float, max_seg_num: int) -> tuple:
    """Upstream's multi-class ``batched_nms`` (spec §6.2) on :func:`kernel_soft_nms_loop`.

    Per class in ascending id order: Soft-NMS, keep ``max_seg_num``; concatenate; by score
    descending (stable), cut to ``max_seg_num``. ``segs (N, 2)``, ``scores (N,)``,
    ``labels (N,)`` -> ``(segs (M, 2) float32, scores (M,) float32, labels (M,))``.
    """
    parts = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k, dets = kernel_soft_nms_loop(segs[idx], scores[idx], sigma, min_score)
        parts.append((dets[:max_seg_num, :2], dets[:max_seg_num, 2],
                      labels[idx[k[:max_seg_num]]]))
    if not parts:
        return np.zeros((0, 2), np.float32), np.zeros(0, np.float32), labels[:0]
    out_segs, out_scores, out_labels = (np.concatenate(x) for x in zip(*parts))
    order = np.argsort(-out_scores, kind='stable')[:max_seg_num]
    return out_segs[order], out_scores[order], out_labels[order]


def shifted_trident_offsets(start_logits: torch.Tensor, end_logits: torch.Tensor,
                            bin_logits: torch.Tensor, num_bins: int) -> torch.Tensor:
    """Trident decoding (spec §3.4) written bin by bin: bin ``j`` reads the boundary logits
    shifted by ``nb - j`` (start) or ``j`` (end), zero beyond the level borders.

    start_logits, end_logits ``(B, T, K)``, bin_logits ``(B, T, 2 (nb + 1))`` ->
    ``(B, T, K, 2)`` ``(d_left, d_right)`` in stride units, as
    :func:`mmloc.models.actionformer.decoding.trident_offsets`.
    """
    nb, T = num_bins, start_logits.shape[1]
    s_pad = F.pad(start_logits, (0, 0, nb, 0))
    e_pad = F.pad(end_logits, (0, 0, 0, nb))
    s_win = torch.stack([s_pad[:, j:j + T] for j in range(nb + 1)], dim=-1)
    e_win = torch.stack([e_pad[:, j:j + T] for j in range(nb + 1)], dim=-1)
    p_left = torch.softmax(s_win + bin_logits[:, :, None, :nb + 1], dim=-1)
    p_right = torch.softmax(e_win + bin_logits[:, :, None, nb + 1:], dim=-1)
    left = sum(p_left[..., j] * (nb - j) for j in range(nb + 1))
    right = sum(p_right[..., j] * j for j in range(nb + 1))
    return torch.stack([left, right], dim=-1)
