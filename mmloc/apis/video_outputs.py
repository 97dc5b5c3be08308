"""What ``tools/infer.py --video`` writes beside ``results.json``: SubRip subtitles (one cue
per detection: label and score, at its start and end in seconds) and a timeline PNG."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from mmloc.utils.io import atomic_open


def srt_time(t_s: float) -> str:
    """Seconds -> ``HH:MM:SS,mmm`` (SubRip), rounded to the millisecond."""
    ms = int(round(max(float(t_s), 0.0) * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f'{h:02d}:{m:02d}:{s:02d},{ms:03d}'


def detections_to_srt(segments_s: np.ndarray, scores: np.ndarray,
                      labels: Optional[Sequence] = None, top_k: Optional[int] = None) -> str:
    """SubRip text: cues in time order for the ``top_k`` best detections (all by default),
    each ``<label> (<score>)``; proposals without a label read ``action``."""
    segments_s = np.asarray(segments_s, np.float64).reshape(-1, 2)
    scores = np.asarray(scores, np.float64).reshape(-1)
    keep = np.argsort(-scores, kind='stable')[:top_k]
    keep = keep[np.lexsort((-scores[keep], segments_s[keep, 0]))]
    cues = []
    for n, i in enumerate(keep, 1):
        start, end = segments_s[i]
        if srt_time(end) <= srt_time(start):   # a zero-length (or inverted) detection
            end = start + 0.001
        name = labels[i] if labels is not None else 'action'
        cues.append(f'{n}\n{srt_time(start)} --> {srt_time(end)}\n{name} ({scores[i]:.3f})\n')
    return '\n'.join(cues)


def write_srt(path: str, segments_s, scores, labels=None, top_k: Optional[int] = None) -> str:
    with atomic_open(path, 'w', encoding='utf-8') as f:
        f.write(detections_to_srt(segments_s, scores, labels, top_k))
    return path


def write_timeline(path: str, segments_s, scores, duration_s: float, title: str = '',
                   top_k: int = 10) -> str:
    """The top-k detections of one video over its duration (the proposal timeline plot)."""
    from mmloc.visualization.plots import plot_proposal_timeline
    return plot_proposal_timeline(np.zeros((0, 2)), np.asarray(segments_s).reshape(-1, 2),
                                  np.asarray(scores), duration_s, path, title=title,
                                  top_k=top_k)
