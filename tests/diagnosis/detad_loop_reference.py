"""Deliberately simple loop version of DETAD's analyses (test reference only).

Written from the DETAD paper and scripts' rules, sharing no code with
``mmloc.evaluation.diagnosis``: scalar IoU, explicit loops over predictions and GT, VOC
interpolation written out. GT: list of ``(video, start, end, label)``; predictions: list of
``(video, start, end, label, score)``; labels are ints.
"""
import numpy as np

CATS = ['true_positive', 'double_detection', 'wrong_label', 'localization', 'confusion',
        'background']


def iou(a0, a1, b0, b1):
    inter = max(0.0, min(a1, b1) - max(a0, b0))
    union = (a1 - a0) + (b1 - b0) - inter
    return inter / union if union > 0 else 0.0


def ranked(preds, c):
    """Indices of class-c predictions, best first (official: argsort reversed, input order)."""
    idx = [i for i, p in enumerate(preds) if p[3] == c]
    scores = np.array([preds[i][4] for i in idx])
    return [idx[j] for j in np.argsort(scores)[::-1]] if idx else []


def match(gt, preds, thr, classes):
    """matched[i][t] = GT index or -1 (official greedy matching)."""
    matched = [[-1] * len(thr) for _ in preds]
    for c in classes:
        for t, alpha in enumerate(thr):
            locked = set()
            for i in ranked(preds, c):
                v, s, e = preds[i][0], preds[i][1], preds[i][2]
                cand = [g for g, x in enumerate(gt) if x[0] == v and x[3] == c]
                ious = np.array([iou(s, e, gt[g][1], gt[g][2]) for g in cand])
                for j in (np.argsort(ious)[::-1] if cand else []):
                    if ious[j] < alpha:
                        break
                    if cand[j] in locked:
                        continue
                    locked.add(cand[j])
                    matched[i][t] = cand[j]
                    break
    return matched


def categories(gt, preds, matched, thr, min_tiou=0.1):
    out = []
    for i, p in enumerate(preds):
        row = []
        same_video = [g for g in gt if g[0] == p[0]]
        for t, alpha in enumerate(thr):
            if matched[i][t] >= 0:
                row.append('true_positive')
                continue
            if not same_video:
                row.append('background')
                continue
            ious = [iou(p[1], p[2], g[1], g[2]) for g in same_video]
            best = int(np.argmax(ious))
            same = same_video[best][3] == p[3]
            if ious[best] >= alpha:
                row.append('double_detection' if same else 'wrong_label')
            elif ious[best] >= min_tiou:
                row.append('localization' if same else 'confusion')
            else:
                row.append('background')
        out.append(row)
    return out


def voc_ap(prec, rec):
    p = [0.0] + list(prec) + [0.0]
    r = [0.0] + list(rec) + [1.0]
    for i in range(len(p) - 2, -1, -1):
        p[i] = max(p[i], p[i + 1])
    return sum((r[i] - r[i - 1]) * p[i] for i in range(1, len(r)) if r[i] != r[i - 1])


def ap_n(tp_flags, npos, n_avg):
    if npos == 0:
        return float('nan')
    if not tp_flags:
        return 0.0
    tp = fp = 0
    prec, rec = [], []
    for f in tp_flags:
        tp += f
        fp += (not f)
        r = tp / npos
        rec.append(r)
        prec.append(r * n_avg / (r * n_avg + fp))
    return voc_ap(prec, rec)


def diagnose(gt, preds, thr, classes, limit_factor=10, min_tiou=0.1):
    thr = list(thr)
    matched = match(gt, preds, thr, classes)
    cats = categories(gt, preds, matched, thr, min_tiou)
    npos = {c: sum(1 for g in gt if g[3] == c) for c in classes}
    with_gt = [c for c in classes if npos[c] > 0]
    n_avg = sum(npos.values()) / len(with_gt)

    # profile over rank intervals ((k-1)G, kG]
    counts = [[0.0] * 6 for _ in range(limit_factor)]
    sizes = [0] * limit_factor
    for c in with_gt:
        for r, i in enumerate(ranked(preds, c)[:npos[c] * limit_factor]):
            k = r // npos[c]
            sizes[k] += 1
            for t in range(len(thr)):
                counts[k][CATS.index(cats[i][t])] += 1.0 / len(thr)
    profile = [[x / sizes[k] if sizes[k] else float('nan') for x in counts[k]]
               for k in range(limit_factor)]

    # removal gain on the top-KG predictions
    def mean_ap(skip=None):
        vals = []
        for c in with_gt:
            top = ranked(preds, c)[:npos[c] * limit_factor]
            for t in range(len(thr)):
                flags = [matched[i][t] >= 0 for i in top if cats[i][t] != skip]
                vals.append(ap_n(flags, npos[c], n_avg))
        return float(np.mean(vals))
    base_top = mean_ap()
    gain = {e: mean_ap(e) - base_top for e in CATS[1:]}

    # sensitivity of a GT subset (DETAD: drop predictions matched outside at any threshold)
    def subset_map(mask):
        aps = []
        for c in classes:
            n_in = sum(1 for g, x in enumerate(gt) if x[3] == c and mask[g])
            if n_in == 0:
                continue
            kept = [i for i in ranked(preds, c)
                    if all(matched[i][t] < 0 or mask[matched[i][t]] for t in range(len(thr)))]
            aps.append(np.mean([ap_n([matched[i][t] >= 0 for i in kept], n_in, n_avg)
                                for t in range(len(thr))]))
        return float(np.mean(aps)) if aps else float('nan')

    def fn_rate(mask):
        sel = [g for g in range(len(gt)) if mask[g]]
        if not sel:
            return float('nan')
        rates = []
        for t in range(len(thr)):
            hit = {matched[i][t] for i in range(len(preds))}
            rates.append(sum(1 for g in sel if g not in hit) / len(sel))
        return float(np.mean(rates))

    return dict(matched=matched, categories=cats, profile=profile, sizes=sizes,
                base_top=base_top, gain=gain, n_avg=n_avg, subset_map=subset_map,
                fn_rate=fn_rate)
