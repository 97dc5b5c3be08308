"""Deliberately simple loop implementations of AR@AN and detection AP (test references only).

They follow the official ActivityNet evaluator's algorithm statement by statement (scalar
Python IoU in float64, explicit loops) and share no code with ``mmloc.evaluation``. The
package's vectorised versions must agree with these to 1e-9.
"""
import numpy as np


def scalar_iou(a, b):
    """IoU of two [start, end] segments in Python floats (float64)."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    if union <= 0:
        return 0.0
    return inter / union


def official_segment_iou(a, b):
    """IoU as the official ``segment_iou``: 0/0 gives NaN (no guard), kept on purpose."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (b[1] - b[0]) + (a[1] - a[0]) - inter
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.float64(inter) / np.float64(union)


def loop_ar_an(ground_truth, proposals, max_avg_proposals=100,
               thresholds=np.linspace(0.5, 0.95, 10)):
    """ground_truth {vid: [[s, e], ...]}, proposals {vid: [[s, e, score], ...]}."""
    videos = [v for v in ground_truth if len(ground_truth[v]) > 0]
    total = sum(len(p) for p in proposals.values())
    if not max_avg_proposals:
        max_avg_proposals = float(total) / len(videos)
    ratio = max_avg_proposals * float(len(videos)) / total
    scores = []
    retrieved = 0
    for v in videos:
        gt = [list(map(float, g[:2])) for g in ground_truth[v]]
        props = proposals.get(v, [])
        if len(props) == 0:
            scores.append([[0.0] for _ in gt])  # one zero column, as the official code
            continue
        sc = np.array([float(p[2]) for p in props])
        order = np.argsort(sc)[::-1]
        n = min(int(len(props) * ratio), len(props))
        retrieved += n
        kept = [props[i] for i in order[:n]]
        scores.append([[scalar_iou(p, g) for p in kept] for g in gt])
    pcn = np.arange(1, 101) / 100.0 * (max_avg_proposals * float(len(videos)) / retrieved)
    recall = np.zeros((len(thresholds), 100))
    for ti, thr in enumerate(thresholds):
        matched = [0] * 100
        positives = 0
        for sv in scores:
            positives += len(sv)
            width = len(sv[0]) if sv else 0
            for j in range(100):
                n = min(int(width * pcn[j]), width)
                for row in sv:
                    if any(row[c] >= thr for c in range(n)):
                        matched[j] += 1
        for j in range(100):
            recall[ti, j] = matched[j] / positives
    avg = recall.mean(axis=0)
    ppv = pcn * (float(retrieved) / len(videos))
    auc = 100.0 * float(np.trapezoid(avg, ppv)) / ppv[-1]
    return recall, avg, ppv, auc


def loop_interpolated_ap(prec, rec):
    mprec = [0.0] + list(prec) + [0.0]
    mrec = [0.0] + list(rec) + [1.0]
    for i in range(len(mprec) - 2, -1, -1):
        mprec[i] = max(mprec[i], mprec[i + 1])
    ap = 0.0
    for i in range(1, len(mrec)):
        if mrec[i] != mrec[i - 1]:
            ap += (mrec[i] - mrec[i - 1]) * mprec[i]
    return ap


def loop_ap_one_class(gt, preds, thresholds):
    """gt: list of (vid, s, e); preds: list of (vid, s, e, score). Returns (n_thr,) AP."""
    thresholds = list(thresholds)
    ap = np.zeros(len(thresholds))
    if len(preds) == 0:
        return ap
    order = np.argsort(np.array([p[3] for p in preds], dtype=float))[::-1]
    preds = [preds[i] for i in order]
    gt_by_video = {}
    for idx, (vid, s, e) in enumerate(gt):
        gt_by_video.setdefault(vid, []).append((idx, s, e))
    lock = [[-1] * len(gt) for _ in thresholds]
    tp = [[0] * len(preds) for _ in thresholds]
    fp = [[0] * len(preds) for _ in thresholds]
    for pi, (vid, s, e, _) in enumerate(preds):
        if vid not in gt_by_video:
            for ti in range(len(thresholds)):
                fp[ti][pi] = 1
            continue
        rows = gt_by_video[vid]
        ious = np.array([official_segment_iou((s, e), (gs, ge)) for _, gs, ge in rows])
        ranked = ious.argsort()[::-1]
        for ti, thr in enumerate(thresholds):
            for j in ranked:
                if ious[j] < thr:
                    fp[ti][pi] = 1
                    break
                if lock[ti][rows[j][0]] >= 0:
                    continue
                tp[ti][pi] = 1
                lock[ti][rows[j][0]] = pi
                break
            if tp[ti][pi] == 0 and fp[ti][pi] == 0:
                fp[ti][pi] = 1
    for ti in range(len(thresholds)):
        ctp = cfp = 0
        prec, rec = [], []
        for pi in range(len(preds)):
            ctp += tp[ti][pi]
            cfp += fp[ti][pi]
            rec.append(ctp / float(len(gt)))
            prec.append(ctp / float(ctp + cfp))
        ap[ti] = loop_interpolated_ap(prec, rec)
    return ap


def loop_detection_map(ground_truth, predictions, num_classes, thresholds):
    """ground_truth {vid: (segs (G,2), labels (G,))}; predictions {vid: (segs, scores, labels)}.

    Classes without GT get NaN AP and are left out of the mean (official: the class set is
    the set of GT labels). Predictions are taken in dict order, then item order.
    """
    ap = np.full((num_classes, len(thresholds)), np.nan)
    for c in range(num_classes):
        gt = [(v, float(s[0]), float(s[1]))
              for v, (segs, labels) in ground_truth.items()
              for s, lab in zip(segs, labels) if int(lab) == c]
        if not gt:
            continue
        preds = [(v, float(s[0]), float(s[1]), float(sc))
                 for v, (segs, scores, labels) in predictions.items()
                 for s, sc, lab in zip(segs, scores, labels) if int(lab) == c]
        ap[c] = loop_ap_one_class(gt, preds, thresholds)
    m = np.nanmean(ap, axis=0)
    return ap, m, float(m.mean())


def official_style_ar_an(ground_truth, proposals, max_avg_proposals=100,
                         thresholds=np.linspace(0.5, 0.95, 10)):
    """The official code's loop structure (numpy per video / threshold / point); the
    benchmark's baseline. Same inputs and outputs as :func:`loop_ar_an`."""
    videos = [v for v in ground_truth if len(ground_truth[v]) > 0]
    total = sum(len(p) for p in proposals.values())
    if not max_avg_proposals:
        max_avg_proposals = float(total) / len(videos)
    ratio = max_avg_proposals * float(len(videos)) / total
    score_lst, retrieved = [], 0
    for v in videos:
        gt = np.asarray(ground_truth[v], dtype=float)[:, :2]
        props = np.asarray(proposals.get(v, np.zeros((0, 3))), dtype=float).reshape(-1, 3)
        if props.shape[0] == 0:
            score_lst.append(np.zeros((gt.shape[0], 1)))
            continue
        segs = props[np.argsort(props[:, 2])[::-1], :2]
        n = min(int(segs.shape[0] * ratio), segs.shape[0])
        retrieved += n
        segs = segs[:n]
        tiou = np.empty((gt.shape[0], n))
        for i in range(n):
            inter = np.clip(np.minimum(segs[i, 1], gt[:, 1]) - np.maximum(segs[i, 0], gt[:, 0]), 0, None)
            union = (gt[:, 1] - gt[:, 0]) + (segs[i, 1] - segs[i, 0]) - inter
            with np.errstate(divide='ignore', invalid='ignore'):
                tiou[:, i] = inter / union
        score_lst.append(tiou)
    pcn = np.arange(1, 101) / 100.0 * (max_avg_proposals * float(len(videos)) / retrieved)
    matches = np.empty((len(videos), 100))
    positives = np.empty(len(videos))
    recall = np.empty((len(thresholds), 100))
    for ridx, thr in enumerate(thresholds):
        for i, score in enumerate(score_lst):
            positives[i] = score.shape[0]
            tp = score >= thr
            pcn_n = np.minimum((score.shape[1] * pcn).astype(int), score.shape[1])
            for j, n in enumerate(pcn_n):
                matches[i, j] = np.count_nonzero(tp[:, :n].sum(axis=1))
        recall[ridx] = matches.sum(axis=0) / positives.sum()
    avg = recall.mean(axis=0)
    ppv = pcn * (float(retrieved) / len(videos))
    return recall, avg, ppv, 100.0 * float(np.trapezoid(avg, ppv)) / ppv[-1]
