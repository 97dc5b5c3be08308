"""Seeded synthetic detections made from real ground truth (test helper, not package code).

Every GT instance gets, by chance: a jittered detection of its class (or none: a miss), a
duplicate, a wrong-label copy and a poorly localised copy; every video gets a few background
detections. Scores: good detections rank above the errors on average, with overlap.
"""
import numpy as np


def jittered_detections(gt: dict, class_names: list, seed: int = 0, miss: float = 0.15,
                        duplicate: float = 0.3, wrong_label: float = 0.15,
                        poor_loc: float = 0.3, background_per_video: float = 2.0) -> dict:
    """``gt``: ``{video: {'segments': (G, 2) s, 'labels': [name], 'duration': s or None}}``;
    GT whose label is not in ``class_names`` get no detection.

    Returns results ``{video: {'segments', 'scores', 'labels'}}`` for ``write_results``.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for vid, rec in gt.items():
        segs, labels = rec['segments'], rec['labels']
        dur = rec['duration'] or (float(segs[:, 1].max()) if len(segs) else 100.0)
        d_seg, d_score, d_lab = [], [], []
        for (s, e), lab in zip(segs, labels):
            if lab not in class_names:        # e.g. THUMOS14's Ambiguous: not scored
                continue
            length = max(e - s, 1e-3)
            if rng.random() >= miss:
                js, je = rng.normal(0.0, 0.08 * length, 2)
                d_seg.append([s + js, e + je])
                d_score.append(rng.uniform(0.5, 1.0))
                d_lab.append(lab)
            if rng.random() < duplicate:
                js, je = rng.normal(0.0, 0.1 * length, 2)
                d_seg.append([s + js, e + je])
                d_score.append(rng.uniform(0.2, 0.8))
                d_lab.append(lab)
            if rng.random() < wrong_label:
                other = class_names[int(rng.integers(len(class_names)))]
                d_seg.append([s, e])
                d_score.append(rng.uniform(0.3, 0.9))
                d_lab.append(other)
            if rng.random() < poor_loc:
                shift = rng.uniform(0.4, 0.7) * length * rng.choice([-1.0, 1.0])
                d_seg.append([s + shift, e + shift])
                d_score.append(rng.uniform(0.1, 0.7))
                d_lab.append(lab)
        for _ in range(rng.poisson(background_per_video)):
            c = rng.uniform(0, dur)
            half = rng.uniform(0.01, 0.1) * dur
            d_seg.append([max(0.0, c - half), min(dur, c + half)])
            d_score.append(rng.uniform(0.0, 0.6))
            d_lab.append(class_names[int(rng.integers(len(class_names)))])
        seg = np.asarray(d_seg, dtype=np.float64).reshape(-1, 2)
        seg = np.sort(seg, axis=1)
        out[vid] = dict(segments=seg, scores=np.asarray(d_score, dtype=np.float64),
                        labels=d_lab)
    return out
