"""Saliency-based boundary max pooling and the boundary regions it pools (AFSD spec §4.1-4.2).

Pure PyTorch replacement of AFSD's CUDA op ``boundary_max_pooling``: same forward, but
autograd gives the **correct** gradient. The original backward reads the input with
``tscale = K`` instead of ``T`` (wrong whenever ``T != K``, i.e. for every frame-level and
contrastive pooling), so training with mmloc differs slightly from the original; the
forward, and therefore inference with the original's checkpoints, is identical, including
outside the finite domain (see :func:`boundary_max_pooling`).
"""
from __future__ import annotations

import torch


def boundary_max_pooling(x: torch.Tensor, segments: torch.Tensor) -> torch.Tensor:
    """Max over a start region (first channel half) and an end region (second half).

    Args:
        x: (B, C, T) feature map, ``C`` even.
        segments: (B, K, 4) float ``[start_lo, start_hi, end_lo, end_hi]`` in steps of ``x``'s
            time axis. Each bound is truncated toward zero, then clamped to ``[0, T-1]``;
            ranges are inclusive and an empty range (``hi < lo``) reads ``x[lo]``.

    Returns:
        (B, C, K): channels ``[0, C/2)`` pooled over the start region of each segment,
        ``[C/2, C)`` over its end region. The gradient goes to the first maximal index.

    Non-finite values follow the CUDA kernel (``boundary_max_pooling_kernel.cu``), which
    casts each bound with ``static_cast<int>`` and then scans ``x[lo]``, ``x[lo+1..hi]`` with
    a strict ``>``:

    * bounds: the GPU's float -> int conversion saturates, so ``+inf`` and any bound
      ``>= T-1`` read step ``T-1``, ``-inf`` and any bound ``<= 0`` read step 0, and a NaN
      bound (converted to 0) reads step 0;
    * features: the scan starts at ``x[lo]`` and a NaN never compares greater, so NaN
      features inside the range are skipped, unless ``x[lo]`` itself is NaN, which is then
      the result (and takes the gradient).
    """
    if x.dim() != 3 or segments.dim() != 3 or segments.shape[-1] != 4:
        raise ValueError(f'boundary_max_pooling: expected x (B,C,T) and segments (B,K,4), '
                         f'got {tuple(x.shape)} and {tuple(segments.shape)}')
    b, c, t = x.shape
    if c % 2 or segments.shape[0] != b:
        raise ValueError(f'boundary_max_pooling: C must be even and batches equal, got x '
                         f'{tuple(x.shape)}, segments {tuple(segments.shape)}')
    # Clamp, then floor: equal to the kernel's truncate-then-clamp for every bound, +-inf
    # included (the two differ only below 0, where both end at 0), and exportable to ONNX,
    # which has no ``trunc`` (``aten::trunc`` has no ONNX symbolic up to opset 20). NaN
    # bounds become 0 first, as the kernel's cast makes them.
    seg = segments.detach()
    seg = torch.where(torch.isnan(seg), torch.zeros_like(seg), seg)
    idx = seg.clamp(0, t - 1).floor().long()  # (B, K, 4)
    steps = torch.arange(t, device=x.device)
    halves = []
    for h, x_half in enumerate(x.split(c // 2, dim=1)):
        lo = idx[..., 2 * h]
        hi = torch.maximum(idx[..., 2 * h + 1], lo)
        inside = (steps >= lo[..., None]) & (steps <= hi[..., None])  # (B, K, T)
        # NaN never wins the kernel's strict ``>`` scan: drop it from the max
        clean = x_half.masked_fill(torch.isnan(x_half), float('-inf'))
        masked = clean[:, :, None, :].masked_fill(~inside[:, None], float('-inf'))
        # max(dim) (not amax) routes the whole gradient to a single index, like the kernel.
        best = masked.max(dim=-1).values                             # (B, C/2, K)
        first = x_half.gather(2, lo[:, None, :].expand(-1, x_half.shape[1], -1))
        # The scan's start value stays when it is NaN, or when nothing in range beats it
        # (all -inf / NaN): then the kernel's answer and arg-max are x[lo] itself.
        keep_first = torch.isnan(first) | (best == float('-inf'))
        halves.append(torch.where(keep_first, first, best))
    return torch.cat(halves, dim=1)


def level_regions(loc: torch.Tensor, clip_length: int) -> torch.Tensor:
    """Boundary regions on a pyramid level's own grid (spec §4.1, "level-grid").

    Args:
        loc: (B, t, 2) coarse ``(l, r)`` distances in frames of the clip.
        clip_length: ``L``, frames per clip.

    Returns:
        (B, t, 4) ``round([a-out, a+in, b-in, b+out])`` in level steps, with ``a = j - l'``,
        ``b = j + r'``, ``(l', r') = (l, r)·t/L``, ``in = max(len/4, 1)``,
        ``out = max(len/10, 1)``; rounding half to even.
    """
    t = loc.shape[1]
    lr = loc * (t / clip_length)
    length = lr[..., 0] + lr[..., 1]
    inner = (length / 4).clamp(min=1.0)
    outer = (length / 10).clamp(min=1.0)
    centre = torch.arange(t, device=loc.device, dtype=loc.dtype)[None]
    a = centre - lr[..., 0]
    b = centre + lr[..., 1]
    return torch.round(torch.stack([a - outer, a + inner, b - inner, b + outer], dim=-1))


def frame_regions(loc: torch.Tensor, clip_length: int) -> torch.Tensor:
    """Boundary regions in frames ``0..L-1`` (spec §4.1, "frame"): length counts ``+1``.

    Args:
        loc: (B, t, 2) coarse ``(l, r)`` in frames. clip_length: ``L``.

    Returns:
        (B, t, 4) ``round([s-out, s+in, e-in, e+out])`` with ``cf = (j+0.5)·L/t``,
        ``s = cf - l``, ``e = cf + r``, ``len = e - s + 1``.
    """
    t = loc.shape[1]
    centre = (torch.arange(t, device=loc.device, dtype=loc.dtype)[None] + 0.5) * (clip_length / t)
    s = centre - loc[..., 0]
    e = centre + loc[..., 1]
    length = e - s + 1
    inner = (length / 4).clamp(min=1.0)
    outer = (length / 10).clamp(min=1.0)
    return torch.round(torch.stack([s - outer, s + inner, e - inner, e + outer], dim=-1))
