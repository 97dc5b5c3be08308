"""Points of the feature pyramid (spec §2.7, §9.1), in level-0 grid units."""
from __future__ import annotations

from typing import List, Sequence, Tuple

import torch
from torch import nn


def level_points(length: int, stride: int, reg_range: Tuple[float, float]) -> torch.Tensor:
    """``(length, 4)`` float32 rows ``(p, r_lo, r_hi, stride)`` with ``p = i * stride``."""
    p = torch.arange(0, length * stride, stride, dtype=torch.float32)
    rows = torch.empty(length, 4, dtype=torch.float32)
    rows[:, 0] = p
    rows[:, 1], rows[:, 2] = float(reg_range[0]), float(reg_range[1])
    rows[:, 3] = float(stride)
    return rows


class PointGenerator(nn.Module):
    """Pre-computed per-level point buffers (non-persistent) for up to ``max_len`` level-0
    positions (``max_seq_len * max_buffer_len_factor``); ``forward(level lengths)`` returns
    the first ``T_l`` rows of each level.
    """

    def __init__(self, max_len: int, strides: Sequence[int],
                 regression_ranges: Sequence[Tuple[float, float]]) -> None:
        super().__init__()
        if len(strides) != len(regression_ranges):
            raise ValueError(f'PointGenerator: {len(strides)} strides but '
                             f'{len(regression_ranges)} regression ranges')
        self.max_len = int(max_len)
        self.strides = [int(s) for s in strides]
        for level, (s, r) in enumerate(zip(self.strides, regression_ranges)):
            self.register_buffer(f'points_{level}',
                                 level_points(-(-self.max_len // s), s, tuple(r)),
                                 persistent=False)

    def forward(self, lengths: Sequence[int]) -> List[torch.Tensor]:
        out = []
        for level, n in enumerate(lengths):
            buf = getattr(self, f'points_{level}')
            if n > buf.shape[0]:
                raise ValueError(f'PointGenerator: level {level} has {n} positions, more than '
                                 f'the {buf.shape[0]} pre-computed (max_seq_len x '
                                 'max_buffer_len_factor is too small for this input)')
            out.append(buf[:n])
        return out
