"""Inference of ActionFormer / TriDet in grid units (spec §3.4, §6.1), per video.

Seconds come later, through the video's :class:`~mmloc.structures.TimeGrid`; NMS is the
shared :func:`~mmloc.models.post_processing.nms.batched_nms`.
"""
from __future__ import annotations

from typing import List, Tuple

import torch
import torch.nn.functional as F


def trident_offsets(start_logits: torch.Tensor, end_logits: torch.Tensor,
                    bin_logits: torch.Tensor, num_bins: int) -> torch.Tensor:
    """Trident decoding of one pyramid level (spec §3.4, golden §9.9).

    Args:
        start_logits, end_logits: ``(B, T, K)`` boundary logits (0 at padded positions).
        bin_logits: ``(B, T, 2 (nb + 1))``: start-side bins then end-side bins.
        num_bins: ``nb``.

    Returns:
        ``(B, T, K, 2)`` expected ``(d_left, d_right)`` in stride units, one pair per class.
        Windows beyond the level borders read logit 0 (not -inf), as upstream.
    """
    nb = num_bins
    # windows: start t-nb .. t, end t .. t+nb, zero-padded at the level borders
    s_win = F.pad(start_logits, (0, 0, nb, 0)).unfold(1, nb + 1, 1)      # (B, T, K, nb+1)
    e_win = F.pad(end_logits, (0, 0, 0, nb)).unfold(1, nb + 1, 1)
    bins = bin_logits.view(*bin_logits.shape[:2], 2, nb + 1)
    p_left = torch.softmax(s_win + bins[:, :, None, 0], dim=-1)
    p_right = torch.softmax(e_win + bins[:, :, None, 1], dim=-1)
    j = torch.arange(nb + 1, dtype=p_left.dtype, device=p_left.device)
    return torch.stack([(p_left * (nb - j)).sum(-1), (p_right * j).sum(-1)], dim=-1)


def decode_level(cls_logits: torch.Tensor, offsets: torch.Tensor, mask: torch.Tensor,
                 points: torch.Tensor, pre_nms_thresh: float = 0.001,
                 pre_nms_topk: int = 2000, duration_thresh: float = 0.05
                 ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Candidates of one level of one video (spec §6.1).

    Args:
        cls_logits: ``(T, K)``. offsets: ``(T, 2)`` (ActionFormer) or ``(T, K, 2)``
            (TriDet, per class), stride units. mask: ``(T,)`` bool. points: ``(T, 4)``.

    Returns:
        segments ``(M, 2)`` grid units, scores ``(M,)``, labels ``(M,)`` int64; by score
        descending within the level.
    """
    K = cls_logits.shape[1]
    prob = (torch.sigmoid(cls_logits) * mask[:, None].to(cls_logits.dtype)).flatten()
    keep = prob > pre_nms_thresh
    scores = prob[keep]
    idx = keep.nonzero().squeeze(1)
    scores, order = scores.sort(descending=True)
    n = min(pre_nms_topk, scores.numel())
    scores, idx = scores[:n], idx[order[:n]]
    t, labels = torch.div(idx, K, rounding_mode='floor'), idx % K
    off = offsets[t, labels] if offsets.dim() == 3 else offsets[t]
    p, s = points[t, 0], points[t, 3]
    segs = torch.stack([p - off[:, 0] * s, p + off[:, 1] * s], dim=-1)
    ok = (segs[:, 1] - segs[:, 0]) > duration_thresh
    return segs[ok], scores[ok], labels[ok]


def decode_video(cls_logits: List[torch.Tensor], offsets: List[torch.Tensor],
                 masks: List[torch.Tensor], points: List[torch.Tensor], **cfg):
    """All levels of one video, concatenated in level order (see :func:`decode_level`)."""
    parts = [decode_level(c, o, m, p, **cfg) for c, o, m, p in zip(cls_logits, offsets, masks,
                                                                   points)]
    return tuple(torch.cat(x) for x in zip(*parts))
