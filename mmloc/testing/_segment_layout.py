"""Segment layout shared by the synthetic generators (private to :mod:`mmloc.testing`).

Both work in normalised time ``[0, 1]``: where the actions of a video go, and how much of
each of ``T`` equal snippets a segment covers.
"""
import numpy as np


def place_segments(rng: np.random.Generator, coverages: np.ndarray) -> np.ndarray:
    """Non-overlapping ``[start, end]`` in normalised time for the given lengths."""
    order = rng.permutation(len(coverages))
    lengths = coverages[order]
    free = 1.0 - lengths.sum()
    # random gaps (Dirichlet split of the free time) between consecutive segments
    gaps = rng.dirichlet(np.ones(len(lengths) + 1)) * free
    starts = np.cumsum(np.concatenate([[gaps[0]], lengths[:-1] + gaps[1:-1]]))
    return np.stack([starts, starts + lengths], axis=1)


def snippet_coverage(segments_u: np.ndarray, temporal_dim: int) -> np.ndarray:
    """(S, T) share of each snippet ``[i/T, (i+1)/T]`` covered by each segment."""
    lo = np.arange(temporal_dim) / temporal_dim
    hi = lo + 1.0 / temporal_dim
    inter = (np.minimum(hi[None], segments_u[:, 1:2]) - np.maximum(lo[None], segments_u[:, 0:1]))
    return np.clip(inter * temporal_dim, 0.0, 1.0)
