"""Structured temporal pyramid pooling (STPP), train and test variants (spec §5.4).

Train: frame features of each proposal arrive as ``[P, 2 + 5 + 2, D]`` (starting, course,
ending stage); each stage is split into parts, averaged, divided by the stage multiplier
and (starting/ending) scaled. Test: per-frame scores of the fused ``test_fc`` are pooled
over tick ranges of the proposal; parts are **not** divided by the multiplier (0.x parity).

Stage configs: an int ``p`` (one level of ``p`` parts) or a tuple of part counts, e.g.
``(1, 2)`` = a 1-part and a 2-part level; the stage multiplier is their sum.
"""
from __future__ import annotations

from typing import Sequence, Tuple, Union

import torch

StageCfg = Union[int, Sequence[int]]


def parse_stage_config(stage_cfg: StageCfg) -> Tuple[Tuple[int, ...], int]:
    """``p -> ((p,), p)``; ``(p1, p2) -> ((p1, p2), p1 + p2)``."""
    if isinstance(stage_cfg, int):
        return (stage_cfg, ), stage_cfg
    parts = tuple(int(p) for p in stage_cfg)
    return parts, sum(parts)


def num_multipliers(stpp_stage: Sequence[StageCfg]) -> int:
    """Total number of pooled parts ``M`` (the completeness feature is ``M * D`` wide)."""
    return sum(parse_stage_config(s)[1] for s in stpp_stage)


def _part_ticks(length: int, parts: int):
    # int(arange(0, len + 1e-5, len / p)) of 0.x, computed exactly.
    return [int(i * length / parts) for i in range(parts + 1)]


def stpp_train(x: torch.Tensor, scale_factors: torch.Tensor,
               stpp_stage: Sequence[StageCfg] = (1, (1, 2), 1),
               num_segments_list: Sequence[int] = (2, 5, 2)):
    """Training STPP.

    Args:
        x: (P * S, D) frame features, S = sum(num_segments_list) frames per proposal in
            stage order. scale_factors: (P, 2) ``[sf_start, sf_end]``.

    Returns:
        activity_feat (P, D): mean of the course-stage frames;
        completeness_feat (P, M * D): the parts, stage by stage.
    """
    n0, n1, n2 = num_segments_list
    total = n0 + n1 + n2
    x = x.reshape(-1, total, x.shape[-1])
    scale_factors = scale_factors.reshape(-1, 2).to(x.dtype)
    stages = (x[:, :n0], x[:, n0:n0 + n1], x[:, n0 + n1:])
    scales = (scale_factors[:, 0:1], None, scale_factors[:, 1:2])
    feats = []
    for stage, cfg, scale in zip(stages, stpp_stage, scales):
        parts, multiplier = parse_stage_config(cfg)
        length = stage.shape[1]
        for p in parts:
            ticks = _part_ticks(length, p)
            for i in range(p):
                part = stage[:, ticks[i]:ticks[i + 1]].mean(dim=1) / multiplier
                feats.append(part * scale if scale is not None else part)
    return stages[1].mean(dim=1), torch.cat(feats, dim=1)


def _range_mean(csum: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """Mean of rows ``[lo, hi)`` from a prefix sum ``csum`` (n + 1, C); (P,) -> (P, C).

    Bounds are clipped to [0, n] like Python slicing; empty ranges give 0.
    """
    n = csum.shape[0] - 1
    lo = lo.clamp(0, n)
    hi = hi.clamp(0, n)
    cnt = (hi - lo).clamp(min=0)
    total = csum[hi] - csum[lo]
    return total / cnt.clamp(min=1).unsqueeze(1).to(csum.dtype)


def stpp_test(scores: torch.Tensor, ticks: torch.Tensor, scale_factors: torch.Tensor,
              num_classes: int, stpp_stage: Sequence[StageCfg] = (1, (1, 2), 1),
              use_regression: bool = True):
    """Test STPP over per-frame ``test_fc`` outputs, vectorised over proposals.

    Args:
        scores: (n, (K + 1) + K * M + 2K * M) per-frame scores (activity, completeness
            multiplier-major, regression multiplier-major).
        ticks: (P, 4) int tick indices into the n frames (``left, s, e, right``).
        scale_factors: (P, 2) ``[sf_start, sf_end]``.

    Returns:
        activity (P, K + 1), completeness (P, K), regression (P, 2K) or None.
    """
    n = scores.shape[0]
    m = num_multipliers(stpp_stage)
    k = num_classes
    act_len, comp_len, reg_len = k + 1, k, 2 * k
    expected = act_len + comp_len * m + (reg_len * m if use_regression else 0)
    if scores.shape[1] != expected:
        raise ValueError(f'stpp_test: expected {expected} score columns for K={k}, M={m}, '
                         f'got {scores.shape[1]}')
    work = scores.to(torch.float64)
    csum = torch.cat([work.new_zeros(1, work.shape[1]), work.cumsum(0)], 0)
    ticks = ticks.to(torch.int64).reshape(-1, 4)
    sf = scale_factors.to(torch.float64).reshape(-1, 2)
    num_p = ticks.shape[0]

    t1 = ticks[:, 1]
    activity = _range_mean(csum[:, :act_len], t1, torch.maximum(t1 + 1, ticks[:, 2]))
    comp = work.new_zeros(num_p, comp_len)
    reg = work.new_zeros(num_p, reg_len)
    comp_base, reg_base = act_len, act_len + comp_len * m
    offset = 0
    for stage_idx, cfg in enumerate(stpp_stage):
        parts, multiplier = parse_stage_config(cfg)
        if stage_idx == 0:
            scale = sf[:, 0]
        elif stage_idx == len(stpp_stage) - 1:
            scale = sf[:, 1]
        else:
            scale = work.new_ones(num_p)
        left = ticks[:, stage_idx]
        right = torch.maximum(left + 1, ticks[:, stage_idx + 1])
        # 0.x skips the whole stage (its multipliers still advance) outside the frames.
        active = (right > 0) & (left < n)
        left_f, span = left.to(torch.float64), (right - left).to(torch.float64)
        for p in parts:
            for i in range(p):
                lo = torch.floor(left_f + i * span / p).to(torch.int64)
                hi = torch.floor(left_f + (i + 1) * span / p).to(torch.int64)
                use = (active & (hi - lo >= 1)).to(torch.float64) * scale
                c0 = comp_base + offset * comp_len
                comp += _range_mean(csum[:, c0:c0 + comp_len], lo, hi) * use[:, None]
                if use_regression:
                    r0 = reg_base + offset * reg_len
                    reg += _range_mean(csum[:, r0:r0 + reg_len], lo, hi) * use[:, None]
                offset += 1
    out_dtype = scores.dtype
    return (activity.to(out_dtype), comp.to(out_dtype),
            reg.to(out_dtype) if use_regression else None)


def fuse_test_weights(activity_w, activity_b, comp_w, comp_b, reg_w=None, reg_b=None,
                      multipliers: int = 3):
    """Weights of the single per-frame ``test_fc`` (0.x ``prepare_test_fc``).

    Completeness (K, M * D) and regression (2K, M * D) weights are reordered
    multiplier-major to (M * K, D) / (M * 2K, D); their biases are tiled M times and
    divided by M. Returns (weight ((K+1) + M K + M 2K, D), bias).
    """
    d = activity_w.shape[1]

    def reorder(w, b):
        out = w.shape[0]
        w = w.reshape(out, multipliers, d).transpose(0, 1).reshape(-1, d)
        b = b.reshape(1, -1).expand(multipliers, out).reshape(-1) / multipliers
        return w, b

    cw, cb = reorder(comp_w, comp_b)
    weights, biases = [activity_w, cw], [activity_b, cb]
    if reg_w is not None:
        rw, rb = reorder(reg_w, reg_b)
        weights.append(rw)
        biases.append(rb)
    return torch.cat(weights), torch.cat(biases)
