"""BMN boundary-matching (BM) sampling mask, built vectorised (spec §3.3).

The mask ``W[j, n, d, s]`` (j: feature snippet index, n: sample bin, d: duration
index, s: start snippet index) mixes the features of a proposal that starts at
snippet ``s`` and spans ``d + 1`` snippets into ``N`` bins. MMAction2 stores it as a
dense ``(T, N*T*T)`` float32 matrix (column ``n*T*T + d*T + s``); every column has
at most ``2P`` non-zeros, so the sparse form below is what the fast path uses.

The numbers are bit-identical to MMAction2's quadruple Python loop: the sample
positions are computed with the same float64 operations, each point's weight is
split with truncation toward zero (``math.modf``) and ``ceil`` (so a point in
(-1, 0) acts as if clamped to index 0), contributions are summed per bin in sample
order, scaled by ``1/P`` and cast to float32.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class BMSparseMask(NamedTuple):
    """Non-zeros of the dense BM sampling mask, sorted by (column, snippet).

    Attributes:
        snippet_idx: (nnz,) int64, feature index ``j`` in [0, T).
        column: (nnz,) int64, dense column ``n*T*T + d*T + s``.
        weight: (nnz,) float32, the mask value ``W[j, column]``.
        shape: ``(T, N*T*T)`` of the dense mask.
    """
    snippet_idx: np.ndarray
    column: np.ndarray
    weight: np.ndarray
    shape: tuple


def bm_valid_mask(temporal_dim: int) -> np.ndarray:
    """``bm_mask`` (spec §3.4): (T(d), T(s)) float32, 1 where ``s + d <= T - 1``."""
    d = np.arange(temporal_dim)[:, None]
    s = np.arange(temporal_dim)[None, :]
    return (s + d <= temporal_dim - 1).astype(np.float32)


def _check_args(temporal_dim: int, num_samples: int, num_samples_per_bin: int) -> None:
    for name, value in (('temporal_dim', temporal_dim), ('num_samples', num_samples),
                        ('num_samples_per_bin', num_samples_per_bin)):
        if int(value) != value or value < 1:
            raise ValueError(f'BM mask: {name} must be a positive integer, got {value!r}')
    if num_samples * num_samples_per_bin < 2:
        raise ValueError('BM mask: num_samples * num_samples_per_bin must be >= 2 '
                         f'(got {num_samples} * {num_samples_per_bin})')


def bm_sample_points(temporal_dim: int, num_samples: int, num_samples_per_bin: int,
                     boundary_ratio: float) -> np.ndarray:
    """Sample positions of every valid (d, s) proposal.

    Returns:
        (V, N*P) float64 positions in snippet-index units, for the V = T(T+1)/2
        cells with ``s + d < T`` in row-major (d, s) order (see
        :func:`bm_valid_cells`). Point ``k`` belongs to bin ``k // P``.
    """
    _check_args(temporal_dim, num_samples, num_samples_per_bin)
    d, s = bm_valid_cells(temporal_dim)
    # Same float64 operations, in the same order, as the reference loop.
    p_xmin = s.astype(np.float64)
    p_xmax = (s + d).astype(np.float64)
    center_len = (p_xmax - p_xmin) + 1.0
    sample_xmin = p_xmin - center_len * boundary_ratio
    sample_xmax = p_xmax + center_len * boundary_ratio
    step = (sample_xmax - sample_xmin) / (num_samples * num_samples_per_bin - 1.0)
    k = np.arange(num_samples * num_samples_per_bin, dtype=np.float64)
    return sample_xmin[:, None] + step[:, None] * k[None, :]


def bm_valid_cells(temporal_dim: int) -> tuple:
    """(d, s) index arrays, each (V,) int64, of the cells with ``s + d < T`` (row-major)."""
    d, s = np.nonzero(bm_valid_mask(temporal_dim))
    return d.astype(np.int64), s.astype(np.int64)


def bm_sparse_mask(temporal_dim: int, num_samples: int, num_samples_per_bin: int,
                   boundary_ratio: float) -> BMSparseMask:
    """Sparse form of the BM sampling mask (spec §3.3), <= 2P non-zeros per column.

    Args:
        temporal_dim: T, number of feature snippets.
        num_samples: N, bins per proposal.
        num_samples_per_bin: P, interpolated points averaged per bin.
        boundary_ratio: context added on each side, as a share of the proposal length.

    Returns:
        :class:`BMSparseMask` whose entries equal the dense mask exactly.
    """
    T, N, P = temporal_dim, num_samples, num_samples_per_bin
    x = bm_sample_points(T, N, P, boundary_ratio)                  # (V, N*P)
    d, s = bm_valid_cells(T)
    frac, down = np.modf(x)                                        # truncation toward zero
    up = np.ceil(x)
    # Contributions in the reference order: for each point, (down, 1 - f) then (up, f).
    idx = np.stack([down, up], axis=-1).astype(np.int64)           # (V, N*P, 2)
    val = np.stack([1.0 - frac, frac], axis=-1)                    # (V, N*P, 2)
    n = np.repeat(np.arange(N), P)                                 # bin of each point
    column = n[None, :, None] * (T * T) + (d * T + s)[:, None, None]
    column = np.broadcast_to(column, idx.shape)
    keep = (idx >= 0) & (idx <= T - 1)
    idx, val, column = idx[keep], val[keep], column[keep]          # C-order = reference order
    key = column * T + idx
    uniq, inverse = np.unique(key, return_inverse=True)
    acc = np.zeros(uniq.shape[0], dtype=np.float64)
    np.add.at(acc, inverse, val)                                   # sequential, in order
    weight = (1.0 / P * acc).astype(np.float32)
    return BMSparseMask(snippet_idx=uniq % T, column=uniq // T, weight=weight,
                        shape=(T, N * T * T))


def bm_dense_mask(temporal_dim: int, num_samples: int, num_samples_per_bin: int,
                  boundary_ratio: float) -> np.ndarray:
    """Dense BM sampling mask as MMAction2 stores it: (T, N*T*T) float32.

    Column ``n*T*T + d*T + s``; columns with ``s + d >= T`` are all zero. For the
    default config this is 128 MB: only the reference (dense) path needs it.
    """
    sp = bm_sparse_mask(temporal_dim, num_samples, num_samples_per_bin, boundary_ratio)
    dense = np.zeros(sp.shape, dtype=np.float32)
    dense[sp.snippet_idx, sp.column] = sp.weight
    return dense
