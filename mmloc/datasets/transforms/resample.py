"""Resampling variable-length snippet features to a fixed temporal window (spec §1.1)."""
from __future__ import annotations

import numpy as np


def resample_feature(feature: np.ndarray, temporal_dim: int = 100, num_sub: int = 3,
                     pool: str = 'mean', eps: float = 1e-4) -> np.ndarray:
    """Resample a (L, C) snippet feature sequence to (temporal_dim, C).

    Same rule as MMAction2's ``activitynet_feature_postprocessing.py``: linear
    interpolation along time over ``[eps, L - 1 - eps]``, split into ``temporal_dim``
    equal anchors, each the mean (or max) of ``num_sub`` sub-samples at
    ``start + k*size + j*size/num_sub``. A one-snippet sequence is repeated.

    Args:
        feature: (L, C) features, one row per snippet.
        temporal_dim: T, rows of the output.
        pool: ``'mean'`` or ``'max'`` over the sub-samples of an anchor.

    Returns:
        (temporal_dim, C) float32.
    """
    feature = np.asarray(feature, dtype=np.float64)
    if feature.ndim != 2 or feature.shape[0] == 0:
        raise ValueError(f'expected a (L, C) feature array with L >= 1, got {feature.shape}')
    if pool not in ('mean', 'max'):
        raise ValueError(f"pool must be 'mean' or 'max', got {pool!r}")
    length = feature.shape[0]
    if length == 1:
        return np.repeat(feature, temporal_dim, axis=0).astype(np.float32)
    from scipy.interpolate import interp1d    # lazily: scipy.interpolate is ~40 MiB
    f = interp1d(np.arange(length), feature, axis=0)
    start, stop = eps, length - 1 - eps
    size = (stop - start) / temporal_dim
    points = (start + np.arange(temporal_dim)[:, None] * size
              + np.arange(num_sub)[None, :] * size / num_sub)
    samples = f(points.reshape(-1)).reshape(temporal_dim, num_sub, -1)
    pooled = samples.mean(axis=1) if pool == 'mean' else samples.max(axis=1)
    return pooled.astype(np.float32)
