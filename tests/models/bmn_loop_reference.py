"""Deliberately simple loop references for BMN post-processing (spec §3.7).

Used by tests/models/test_proposal_utils.py and by benchmarks/bmn.py (the "per-pair loop"
side of the post-processing timing), so both compare against the same reference.
"""
import math

import numpy as np


def loop_soft_nms(proposals, alpha, low, high, top_k):
    """Deliberately simple per-pair loop over Python lists (spec §3.7)."""
    proposals = np.asarray(proposals, dtype=np.float64)
    proposals = proposals[proposals[:, -1].argsort()[::-1]]
    tstart = proposals[:, 0].tolist()
    tend = proposals[:, 1].tolist()
    tscore = proposals[:, -1].tolist()
    kept = []
    while len(tscore) > 0 and len(kept) <= top_k:
        m = tscore.index(max(tscore))
        width = tend[m] - tstart[m]
        for i in range(len(tscore)):
            if i == m:
                continue
            inter = max(0.0, min(tend[m], tend[i]) - max(tstart[m], tstart[i]))
            union = (tend[m] - tstart[m]) + (tend[i] - tstart[i]) - inter
            iou = inter / union if union > 0 else 0.0
            if iou > low + (high - low) * width:
                tscore[i] = tscore[i] * math.exp(-iou * iou / alpha)
        kept.append([tstart.pop(m), tend.pop(m), tscore.pop(m)])
    return np.array(kept, dtype=np.float64).reshape(-1, 3)


def loop_post_processing(rows, duration_s, alpha, low, high, top_k):
    rows = np.asarray(rows, dtype=np.float64)
    if len(rows) > 1:
        rows = loop_soft_nms(rows, alpha, low, high, top_k)
    rows = rows[rows[:, -1].argsort()[::-1]] if len(rows) else rows
    out = []
    for j in range(min(top_k, len(rows))):
        out.append((max(0, rows[j, 0]) * duration_s, min(1, rows[j, 1]) * duration_s,
                    float(rows[j, -1])))
    return out
