"""BMN "BM layer + first Conv3d": the dense reference and the fused sparse path.

Dense (MMAction2): ``Y = X @ W`` with the (T, N*T*T) sampling mask, reshaped to
(B, C, N, T, T), then a Conv3d with kernel (N, 1, 1). Both steps are linear with
nothing in between, so the fused path applies the Conv3d's channel mixing first,
on the (B, C, T) features (``G[b, n, j, o] = sum_c K[o, c, n] X[b, c, j]``), and
the sparse temporal sampling after it: each output cell (d, s) is a weighted sum
of at most ``N * 2P`` rows of ``G`` (an ``embedding_bag``). Cells with
``s + d >= T`` have empty bags, so they cost nothing and come out as the bias,
which is exactly what the dense path computes for their all-zero mask columns.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np
import torch
import torch.nn.functional as F

from .bm_sampling import BMSparseMask


class BMBagIndex(NamedTuple):
    """Sampling as bags over the rows ``n*T + j`` of the fused table, one bag per cell.

    Attributes:
        table_rows: (nnz,) int64, row ``n*T + j`` of ``G`` reshaped to (N*T, O).
        bag_offsets: (T*T,) int64, start of the bag of cell ``d*T + s`` in ``table_rows``.
        bag_weights: (nnz,) float32, the mask value of each entry.
        num_rows: N*T, rows of one video's table.
    """
    table_rows: np.ndarray
    bag_offsets: np.ndarray
    bag_weights: np.ndarray
    num_rows: int


def bm_bag_index(mask: BMSparseMask) -> BMBagIndex:
    """Regroup the sparse mask's non-zeros by output cell (d, s).

    Args:
        mask: from :func:`~mmloc.models.layers.bm_sampling.bm_sparse_mask`.

    Returns:
        :class:`BMBagIndex` covering all T*T cells (invalid cells have empty bags).
    """
    T = mask.shape[0]
    num_cells = T * T
    n = mask.column // num_cells
    cell = mask.column % num_cells
    order = np.lexsort((mask.snippet_idx, n, cell))
    counts = np.bincount(cell, minlength=num_cells)
    offsets = np.zeros(num_cells, dtype=np.int64)
    np.cumsum(counts[:-1], out=offsets[1:])
    num_samples = mask.shape[1] // num_cells
    return BMBagIndex(table_rows=(n * T + mask.snippet_idx)[order].astype(np.int64),
                      bag_offsets=offsets,
                      bag_weights=mask.weight[order].astype(np.float32),
                      num_rows=num_samples * T)


def fused_bm_conv3d(feature: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
                    table_rows: torch.Tensor, bag_offsets: torch.Tensor,
                    bag_weights: torch.Tensor) -> torch.Tensor:
    """BM sampling followed by the (N, 1, 1) Conv3d, without the dense BM feature.

    Args:
        feature: (B, C, T) features entering the BM layer.
        weight: (O, C, N, 1, 1) Conv3d weight (``x_3d_p.0.weight``).
        bias: (O,) Conv3d bias or None.
        table_rows, bag_offsets, bag_weights: tensors of :class:`BMBagIndex`, on
            ``feature``'s device.

    Returns:
        (B, O, T(d), T(s)), equal to ``conv3d(dense_bm_layer(feature, W)).squeeze(2)``
        up to float summation order. The result is a permuted (channels-last) view.
    """
    B, C, T = feature.shape
    O, C_w, N = weight.shape[:3]
    if C_w != C or weight.shape[3:] != (1, 1):
        raise ValueError(f'fused_bm_conv3d: weight of shape {tuple(weight.shape)} does not fit '
                         f'features with {C} channels (expected (O, {C}, N, 1, 1))')
    # Channel mixing first: (B, N, T, O) table, one row per (video, bin, snippet).
    table = torch.einsum('bcj,ocn->bnjo', feature, weight[..., 0, 0]).reshape(B * N * T, O)
    nnz = table_rows.numel()
    video = torch.arange(B, device=feature.device)[:, None]
    rows = (table_rows[None, :] + video * (N * T)).reshape(-1)
    offsets = (bag_offsets[None, :] + video * nnz).reshape(-1)
    per_sample = bag_weights.to(table.dtype).repeat(B)
    out = F.embedding_bag(rows, table, offsets, mode='sum', per_sample_weights=per_sample)
    if bias is not None:
        out.add_(bias.to(out.dtype))           # in place: embedding_bag's backward needs no output
    # Cell-major rows viewed as (B, O, T, T) are channels-last, which CPU convs run fastest.
    return out.reshape(B, T, T, O).permute(0, 3, 1, 2)


def dense_bm_layer(feature: torch.Tensor, sample_mask: torch.Tensor,
                   num_samples: int) -> torch.Tensor:
    """MMAction2's BM layer: (B, C, T) @ (T, N*T*T) -> (B, C, N, T, T)."""
    B, C, T = feature.shape
    if sample_mask.shape != (T, num_samples * T * T):
        raise ValueError(f'dense_bm_layer: sample_mask has shape {tuple(sample_mask.shape)}, '
                         f'expected ({T}, {num_samples * T * T}) for T={T}, N={num_samples}')
    out = torch.matmul(feature, sample_mask.to(feature.dtype))
    return out.reshape(B, C, num_samples, T, T)
