"""Label assignment of ActionFormer / TriDet (spec §4.1, golden values §9.2), per video.

All quantities in level-0 grid units except the regression targets, which are divided by
each point's stride.
"""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F

#: GTs whose length is within this of the shortest candidate all give their label
EQUAL_LENGTH_TOL = 1e-3


@torch.no_grad()
def assign_points(points: torch.Tensor, gt_segments: torch.Tensor, gt_labels: torch.Tensor,
                  num_classes: int, center_sample: str = 'radius', radius: float = 1.5
                  ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Targets of every point for one video.

    Args:
        points: ``(F, 4)`` rows ``(p, r_lo, r_hi, stride)`` of all levels concatenated.
        gt_segments: ``(N, 2)`` ``[start, end]`` grid units. gt_labels: ``(N,)`` int.
        center_sample: ``'radius'`` (a point is inside when it lies strictly inside
            ``[max(c - radius * s, g0), min(c + radius * s, g1)]``) or ``'none'``
            (strictly inside the GT).

    Returns:
        ``cls (F, K)`` float (multi-label where GTs of nearly equal length overlap),
        ``reg (F, 2)`` float ``(left, right) / stride`` of the shortest candidate GT
        (arbitrary on negatives).
    """
    num_pts = points.shape[0]
    if gt_segments.numel() == 0:
        return points.new_zeros(num_pts, num_classes), points.new_zeros(num_pts, 2)
    p, stride = points[:, 0, None], points[:, 3, None]
    g0, g1 = gt_segments[None, :, 0], gt_segments[None, :, 1]
    left, right = p - g0, g1 - p                                     # (F, N)
    if center_sample == 'radius':
        centre = 0.5 * (g0 + g1)
        inside = torch.minimum(p - torch.maximum(centre - stride * radius, g0),
                               torch.minimum(centre + stride * radius, g1) - p) > 0
    elif center_sample == 'none':
        inside = torch.minimum(left, right) > 0
    else:
        raise ValueError(f"assign_points: center_sample must be 'radius' or 'none', got "
                         f'{center_sample!r}')
    reach = torch.maximum(left, right)
    in_range = (reach >= points[:, 1, None]) & (reach <= points[:, 2, None])
    lens = (g1 - g0).expand(num_pts, -1)
    lens = lens.masked_fill(~(inside & in_range), float('inf'))
    min_len, min_idx = lens.min(dim=1)
    chosen = (lens <= min_len[:, None] + EQUAL_LENGTH_TOL) & torch.isfinite(lens)
    one_hot = F.one_hot(gt_labels.long(), num_classes).to(points.dtype)    # (N, K)
    cls = (chosen.to(points.dtype) @ one_hot).clamp_(0, 1)
    rows = torch.arange(num_pts, device=points.device)
    reg = torch.stack([left[rows, min_idx], right[rows, min_idx]], dim=-1) / stride
    return cls, reg
