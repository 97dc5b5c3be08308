"""Ground-truth characteristics and their DETAD buckets, computed from the annotations alone.

DETAD (Alwassel et al., ECCV 2018) groups every ground-truth instance by

* **length**: ``end_s - start_s`` in seconds;
* **coverage**: length divided by the video duration (a fraction, unitless);
* **num_instances**: the number of GT instances in the instance's video (all classes).

Buckets follow ``pandas.cut(..., include_lowest=True)`` as DETAD does: the first bucket is the
closed interval ``[e0, e1]``, every later one is ``(e_{i-1}, e_i]``. A value outside all buckets
(or ``nan``, e.g. an unknown duration) gets bucket ``-1``.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

#: Characteristic names, in plotting order.
CHARACTERISTICS = ('coverage', 'length', 'num_instances')

#: DETAD's bucket edges and names per protocol (``*_extra_characteristics`` bins of its scripts).
BUCKETS = {
    'anet': {
        'coverage': (np.array([0.0, 0.2, 0.4, 0.6, 0.8, 1.0]), ('XS', 'S', 'M', 'L', 'XL')),
        'length': (np.array([0.0, 30.0, 60.0, 120.0, 180.0, np.inf]), ('XS', 'S', 'M', 'L', 'XL')),
        'num_instances': (np.array([-1.0, 1.0, 4.0, 8.0, np.inf]), ('XS', 'S', 'M', 'L')),
    },
    'thumos14': {
        'coverage': (np.array([0.0, 0.02, 0.04, 0.06, 0.08, 1.0]), ('XS', 'S', 'M', 'L', 'XL')),
        'length': (np.array([0.0, 3.0, 6.0, 12.0, 18.0, np.inf]), ('XS', 'S', 'M', 'L', 'XL')),
        'num_instances': (np.array([-1.0, 1.0, 40.0, 80.0, np.inf]), ('XS', 'S', 'M', 'L')),
    },
}


def instance_characteristics(segments_s: np.ndarray, video_index: np.ndarray,
                             durations_s: np.ndarray) -> dict:
    """Length, coverage and instances-per-video of every GT instance.

    Args:
        segments_s: (M, 2) GT ``[start, end]`` in seconds.
        video_index: (M,) int, the video of each instance (any integer id).
        durations_s: (M,) float, the duration in seconds of each instance's video
            (``nan`` when unknown).

    Returns:
        ``{'length': (M,) s, 'coverage': (M,) fraction (nan where the duration is unknown or
        not positive), 'num_instances': (M,) int}``.
    """
    seg = np.asarray(segments_s, dtype=np.float64).reshape(-1, 2)
    vid = np.asarray(video_index).reshape(-1)
    dur = np.asarray(durations_s, dtype=np.float64).reshape(-1)
    if not (seg.shape[0] == vid.shape[0] == dur.shape[0]):
        raise ValueError(f'segments ({seg.shape[0]}), video_index ({vid.shape[0]}) and '
                         f'durations ({dur.shape[0]}) must have one row per instance')
    length = seg[:, 1] - seg[:, 0]
    with np.errstate(divide='ignore', invalid='ignore'):
        coverage = np.where(dur > 0, length / np.where(dur > 0, dur, 1.0), np.nan)
    _, inverse, counts = np.unique(vid, return_inverse=True, return_counts=True)
    return dict(length=length, coverage=coverage, num_instances=counts[inverse].astype(np.int64))


def assign_buckets(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bucket index of each value, ``pandas.cut(right=True, include_lowest=True)`` semantics.

    Args:
        values: (M,) float.
        edges: (B + 1,) increasing bucket edges.

    Returns:
        (M,) int64 in ``[0, B)``; ``-1`` for ``nan`` and for values outside ``[e0, eB]``.
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    edges = np.asarray(edges, dtype=np.float64).reshape(-1)
    if edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f'bucket edges must be increasing with at least 2 values, got {edges}')
    # right-closed bins: index i such that e_i < v <= e_{i+1}; the lowest edge itself goes to bin 0
    idx = np.searchsorted(edges, values, side='left') - 1
    idx = np.where(values == edges[0], 0, idx)
    bad = np.isnan(values) | (values < edges[0]) | (values > edges[-1])
    return np.where(bad | (idx < 0) | (idx >= edges.size - 1), -1, idx).astype(np.int64)


def bucketize(characteristics: Mapping[str, np.ndarray], protocol: str = 'anet',
              buckets: Mapping | None = None) -> dict:
    """Bucket ids of every characteristic: ``{name: (ids (M,) int64, bucket names)}``."""
    if buckets is None:
        if protocol not in BUCKETS:
            raise ValueError(f"protocol must be one of {sorted(BUCKETS)}, got {protocol!r}")
        buckets = BUCKETS[protocol]
    return {name: (assign_buckets(characteristics[name], edges), tuple(names))
            for name, (edges, names) in buckets.items()}
