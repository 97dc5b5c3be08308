"""BMN boundary-matching confidence map as a heat-map, with the ground truth marked."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .plots import _save, new_figure


def gt_bm_cells(gt_segments_norm: np.ndarray, temporal_dim: int) -> np.ndarray:
    """Where ground-truth segments fall on the BM map, in (fractional) cell coordinates.

    BM cell ``(d, s)`` is the proposal ``[s/T, (s + d + 1)/T]`` (spec §3.4), so a segment
    ``[t0, t1]`` (normalised) sits at ``s = t0*T``, ``d = (t1 - t0)*T - 1``.

    Args:
        gt_segments_norm: (G, 2) segments, normalised to [0, 1] along the feature axis.
        temporal_dim: T.

    Returns:
        (G, 2) float64 ``[s, d]`` (x = start index, y = duration index).
    """
    gt = np.asarray(gt_segments_norm, dtype=np.float64).reshape(-1, 2)
    return np.stack([gt[:, 0] * temporal_dim, (gt[:, 1] - gt[:, 0]) * temporal_dim - 1], axis=1)


def plot_bm_map(bm_maps: np.ndarray, out_file: str, gt_segments_norm: np.ndarray | None = None,
                titles: Sequence[str] | None = None, suptitle: str = '') -> str:
    """Heat-maps of BM maps (duration index ``d`` down, start index ``s`` across).

    Cells with ``s + d >= T`` (proposals past the end of the video, never used) are greyed
    out; each ground-truth segment is marked by a red circle at its (s, d) position.

    Args:
        bm_maps: (T, T) or (K, T, T) maps indexed ``[d, s]``, e.g. BMN's ``bm[0]`` (2, T, T):
            channel 0 the regression confidence, channel 1 the classification confidence.
        out_file: PNG path (folders are created).
        gt_segments_norm: (G, 2) ground truth, normalised to [0, 1] (``seg_s /
            corrected_second``, spec §1.3).
        titles: one per map; default ``'map k'`` (or BMN's names for two maps).
        suptitle: figure title.

    Returns:
        ``out_file``.
    """
    maps = np.asarray(bm_maps, dtype=np.float64)
    if maps.ndim == 2:
        maps = maps[None]
    if maps.ndim != 3 or maps.shape[1] != maps.shape[2]:
        raise ValueError(f'plot_bm_map: expected (T, T) or (K, T, T) maps, got {maps.shape}')
    k, T = maps.shape[0], maps.shape[1]
    if titles is None:
        titles = (['regression confidence', 'classification confidence'] if k == 2
                  else [f'map {i}' for i in range(k)])
    if len(titles) != k:
        raise ValueError(f'plot_bm_map: {len(titles)} titles for {k} maps')
    d, s = np.meshgrid(np.arange(T), np.arange(T), indexing='ij')
    invalid = s + d >= T
    cells = gt_bm_cells(gt_segments_norm, T) if gt_segments_norm is not None else None
    fig, axes = new_figure(1, k, figsize=(4.6 * k + 0.6, 4.4), squeeze=False)
    import matplotlib
    cmap = matplotlib.colormaps['magma'].with_extremes(bad='0.85')  # grey: invalid cells
    for ax, m, title in zip(axes[0], maps, titles):
        im = ax.imshow(np.ma.masked_array(m, invalid), origin='upper', cmap=cmap,
                       vmin=0, vmax=1, interpolation='nearest', aspect='equal')
        if cells is not None and len(cells):
            ax.scatter(cells[:, 0], cells[:, 1], s=70, facecolors='none', edgecolors='red',
                       linewidths=1.8, label='ground truth')
            ax.legend(loc='upper right', fontsize=7)
        ax.set_xlim(-0.5, T - 0.5)
        ax.set_ylim(T - 0.5, -0.5)
        ax.set_xlabel('start index s')
        ax.set_ylabel('duration index d')
        ax.set_title(title, fontsize=10)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    _save(fig, out_file)
    return out_file
