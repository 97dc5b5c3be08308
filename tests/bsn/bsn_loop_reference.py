"""Deliberately simple per-snippet / per-proposal loop references for BSN (spec §4.1-4.4).

Written straight from the spec's prose, one Python loop per element, to check the
vectorised package code against. Also used by benchmarks/bsn_pgm.py as the slow path.
"""
import math

import numpy as np


def _iou(a0, a1, b0, b1):
    inter = max(min(a1, b1) - max(a0, b0), 0.)
    union = (a1 - a0) + (b1 - b0) - inter
    return inter / union


def _iop(a0, a1, b0, b1):
    inter = max(min(a1, b1) - max(a0, b0), 0.)
    return inter / (a1 - a0)


def loop_candidate_proposals(tem, temporal_scale, peak_threshold, gt_segments):
    """Spec §4.2 with explicit loops; returns (K, 7) float64 sorted like MMAction2."""
    start_scores, end_scores = tem[:, 1], tem[:, 2]
    max_start, max_end = max(start_scores), max(end_scores)
    start_bins = [0] * len(start_scores)
    end_bins = [0] * len(end_scores)
    start_bins[0] = start_bins[-1] = end_bins[0] = end_bins[-1] = 1
    for i in range(1, temporal_scale - 1):
        if start_scores[i] > start_scores[i + 1] and start_scores[i] > start_scores[i - 1]:
            start_bins[i] = 1
        elif start_scores[i] > peak_threshold * max_start:
            start_bins[i] = 1
        if end_scores[i] > end_scores[i + 1] and end_scores[i] > end_scores[i - 1]:
            end_bins[i] = 1
        elif end_scores[i] > peak_threshold * max_end:
            end_bins[i] = 1
    gap = 1. / temporal_scale
    tmins, tmaxs = [], []
    for i in range(temporal_scale):
        if start_bins[i]:
            tmins.append((gap / 2 + gap * i, start_scores[i]))
        if end_bins[i]:
            tmaxs.append((gap / 2 + gap * i, end_scores[i]))
    rows = []
    for tmax, tmax_score in tmaxs:
        for tmin, tmin_score in tmins:
            if tmin >= tmax:
                break
            rows.append([tmin, tmax, tmin_score, tmax_score])
    rows = np.array(rows, dtype=np.float64).reshape(-1, 4)
    score = rows[:, 2] * rows[:, 3]
    rows = np.concatenate([rows, score[:, None]], axis=1)
    rows = rows[rows[:, -1].argsort()[::-1]]
    out = []
    for r in rows:
        if len(gt_segments):
            iou = max(_iou(r[0], r[1], g0, g1) for g0, g1 in gt_segments)
            ioa = max(_iop(r[0], r[1], g0, g1) for g0, g1 in gt_segments)
        else:
            iou = ioa = 0.
        out.append(list(r) + [iou, ioa])
    return np.array(out, dtype=np.float64).reshape(-1, 7)


def loop_bsp_feature(tem, proposals, bsp_boundary_ratio=0.2, num_sample_start=8,
                     num_sample_end=8, num_sample_action=16, num_sample_interp=3):
    """Spec §4.3 with three np.interp calls per proposal and a mean per sample."""
    action = tem[:, 0]
    length = len(tem)
    gap = float(tem[0, 4] - tem[0, 3])
    extend = int(length / 4 + 10)
    scores = [0.] * extend + [float(a) for a in action] + [0.] * extend
    t_points = ([-gap / 2 - (extend - 1 - i) * gap for i in range(extend)]
                + [gap / 2 + i * gap for i in range(length)]
                + [gap / 2 + float(tem[-1, 4]) + i * gap for i in range(extend)])

    def sample(lo, hi, n):
        step = (hi - lo) / (n - 1)
        sub = step / num_sample_interp
        xs = [lo - step / 2 + sub * k for k in range(n * num_sample_interp + 1)]
        ys = np.interp(xs, t_points, scores)
        return [np.mean(ys[j * num_sample_interp:(j + 1) * num_sample_interp + 1])
                for j in range(n)]

    feats = []
    for prop in proposals:
        tmin, tmax = float(prop[0]), float(prop[1])
        tlen = tmax - tmin
        r = bsp_boundary_ratio
        feats.append(sample(tmin, tmax, num_sample_action)
                     + sample(tmin - tlen * r, tmin + tlen * r, num_sample_start)
                     + sample(tmax - tlen * r, tmax + tlen * r, num_sample_end))
    return np.array(feats, dtype=np.float64).reshape(len(feats), -1)


def loop_tem_targets(gt, temporal_dim, boundary_ratio):
    """Spec §4.1 labels, one anchor at a time."""
    out = np.zeros((3, temporal_dim))
    for i in range(temporal_dim):
        a0, a1 = i / temporal_dim, (i + 1) / temporal_dim
        for g0, g1 in gt:
            pad = max(1. / temporal_dim, boundary_ratio * (g1 - g0))
            out[0, i] = max(out[0, i], _iop(a0, a1, g0, g1))
            out[1, i] = max(out[1, i], _iop(a0, a1, g0 - pad / 2, g0 + pad / 2))
            out[2, i] = max(out[2, i], _iop(a0, a1, g1 - pad / 2, g1 + pad / 2))
    return out


def blr(pred, label, threshold=0.5):
    """Spec §3.6 BLR by hand on flat lists."""
    n = len(pred)
    pos = [1. if y > threshold else 0. for y in label]
    ratio = min(max(n / max(sum(pos), 1.), 1.05), 21.)
    c1, c0 = ratio / 2, ratio / (2 * (ratio - 1))
    total = sum(c1 * q * math.log(p + 1e-5) + c0 * (1 - q) * math.log(1 - p + 1e-5)
                for p, q in zip(pred, pos))
    return -total / n


def random_tem(rng, length, smooth=True):
    """(L, 5) TEM-like output with peaks, ties and plateaus."""
    cols = rng.random((length, 3))
    if smooth:
        kernel = np.ones(3) / 3
        cols = np.stack([np.convolve(c, kernel, mode='same') for c in cols.T], axis=1)
    if rng.random() < 0.3:  # plateaus / ties
        cols = np.round(cols * 4) / 4
    idx = np.arange(length)
    return np.concatenate([cols, (idx / length)[:, None], ((idx + 1) / length)[:, None]],
                          axis=1).astype(np.float32)
