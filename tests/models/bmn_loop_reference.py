"""Deliberately simple loop references for BMN post-processing (spec §3.7).

Used by tests/models/test_proposal_utils.py and by benchmarks/bmn.py (the "per-pair loop"
side of the post-processing timing), so both compare against the same reference.
"""
import numpy as np


def loop_soft_nms(proposals, alpha, low, high, top_k, dtype=np.float64):
    """Deliberately simple per-pair loop (spec §3.7) following MMAction2 1.2.0's
    ``soft_nms`` operation by operation: its ``temporal_iou`` union
    ``((len_m - inter) + end_i) - start_i`` (0/0 is NaN, which never passes the threshold),
    its threshold ``low + (high - low) * width`` and numpy's exp, every step in ``dtype``
    (float64 for BMN's rows, float32 for PEM's, as MMAction2 keeps the rows' dtype)."""
    proposals = np.asarray(proposals, dtype=dtype)
    proposals = proposals[proposals[:, -1].argsort()[::-1]]
    tstart = list(proposals[:, 0])      # numpy scalars: arithmetic stays in ``dtype``
    tend = list(proposals[:, 1])
    tscore = list(proposals[:, -1])
    kept = []
    with np.errstate(invalid='ignore', divide='ignore'):
        while len(tscore) > 0 and len(kept) <= top_k:
            m = int(np.argmax(tscore))
            width = tend[m] - tstart[m]
            for i in range(len(tscore)):
                if i == m:
                    continue
                inter = np.maximum(np.minimum(tend[m], tend[i]) - np.maximum(tstart[m], tstart[i]),
                                   0.0)
                union = (width - inter) + tend[i] - tstart[i]
                iou = np.divide(inter, union)
                if iou > low + (high - low) * width:
                    tscore[i] = tscore[i] * np.exp(-np.square(iou) / alpha)
            kept.append([tstart.pop(m), tend.pop(m), tscore.pop(m)])
    return np.array(kept, dtype=dtype).reshape(-1, 3)


def loop_post_processing(rows, duration_s, alpha, low, high, top_k, dtype=np.float64):
    rows = np.asarray(rows, dtype=dtype)
    if len(rows) > 1:
        rows = loop_soft_nms(rows, alpha, low, high, top_k, dtype)
    rows = rows[rows[:, -1].argsort()[::-1]] if len(rows) else rows
    out = []
    for j in range(min(top_k, len(rows))):
        out.append((max(0, rows[j, 0]) * duration_s, min(1, rows[j, 1]) * duration_s,
                    float(rows[j, -1])))
    return out
