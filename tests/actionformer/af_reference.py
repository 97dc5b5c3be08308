"""Slow loop references for the ActionFormer tests (never used by the package).

* :func:`loop_local_attention`: the local attention of actionformer-spec §2.4, one query at
  a time (the official chunked formulation is ``mmloc.testing.actionformer_reference``).
* :func:`loop_assign`: label assignment point by point, GT by GT (spec §4.1).
"""
import math

import torch


def loop_local_attention(q, k, v, kv_mask, window):
    """q, k, v (B, h, T, d), kv_mask (B, T) -> (B, h, T, d), one query at a time."""
    B, h, T, d = q.shape
    w = window // 2
    out = torch.zeros_like(q)
    for b in range(B):
        for i in range(T):
            if not kv_mask[b, i]:
                continue
            js = list(range(max(0, i - w), min(T, i + w + 1)))
            s = (q[b, :, i:i + 1] @ k[b, :, js].transpose(-1, -2))[:, 0] / math.sqrt(d)
            s = s + torch.tensor([0.0 if kv_mask[b, j] else -1e4 for j in js])
            out[b, :, i] = (torch.softmax(s, -1)[:, None] @ v[b, :, js])[:, 0]
    return out


def loop_assign(points, gt, labels, num_classes, center_sample='radius', radius=1.5):
    """Point by point, GT by GT (spec §4.1); returns cls (F, K), reg (F, 2) (0 on negatives)."""
    F_ = points.shape[0]
    cls = torch.zeros(F_, num_classes)
    reg = torch.zeros(F_, 2)
    for f in range(F_):
        p, lo, hi, s = points[f].tolist()
        cands = []
        for n in range(gt.shape[0]):
            g0, g1 = gt[n].tolist()
            left, right = p - g0, g1 - p
            if center_sample == 'radius':
                c = 0.5 * (g0 + g1)
                ok = p - max(c - radius * s, g0) > 0 and min(c + radius * s, g1) - p > 0
            else:
                ok = left > 0 and right > 0
            if ok and lo <= max(left, right) <= hi:
                cands.append((g1 - g0, n, left, right))
        if not cands:
            continue
        best = min(c[0] for c in cands)
        first = next(c for c in cands if c[0] == best)
        for length, n, _, _ in cands:
            if length <= best + 1e-3:
                cls[f, int(labels[n])] = 1.0
        reg[f] = torch.tensor([first[2], first[3]]) / s
    return cls, reg
