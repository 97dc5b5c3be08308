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

from typing import Dict, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from .bm_sampling import BMSparseMask


class BMBagIndex(NamedTuple):
    """The sparse sampling as bags, both ways round, for a chosen list of output cells.

    Forward: one bag per output position ``m`` (cell ``cells[m]`` = ``d*T + s``), over the
    rows ``n*T + j`` of the fused table ``G`` reshaped to (N*T, O). Transposed: one bag per
    table row, over the positions, which the backward pass uses instead of a scatter-add.
    The positions form K bands ``[band_edges[k], band_edges[k+1])``; a batch of B videos
    is laid out band by band, each band video by video (``(k, b, m)``), so that every band
    is one contiguous (B, h, w, O) block. With all T*T cells in one band (the default) this
    is the plain (B, T*T, O) layout.

    Attributes:
        table_rows: (nnz,) int64, table row ``n*T + j`` of each entry, grouped by position.
        bag_offsets: (M,) int64, start of each position's bag in ``table_rows``.
        bag_weights: (nnz,) float32, the mask value of each entry.
        cells: (nnz,) int64, position of each entry within its band, grouped by table row.
        row_offsets: (N*T,) int64, start of each table row's bag in ``cells``.
        row_weights: (nnz,) float32, the mask value of each entry in that order.
        cell_band_start: (nnz,) int64, first position of that entry's band (same order).
        cell_band_size: (nnz,) int64, positions in that entry's band.
        band_edges: (K+1,) position edges of the bands (python ints: shapes depend on them).
        band_entry_edges: (K+1,) matching edges in ``table_rows`` (python ints).
    """
    table_rows: np.ndarray
    bag_offsets: np.ndarray
    bag_weights: np.ndarray
    cells: np.ndarray
    row_offsets: np.ndarray
    row_weights: np.ndarray
    cell_band_start: np.ndarray
    cell_band_size: np.ndarray
    band_edges: Tuple[int, ...]
    band_entry_edges: Tuple[int, ...]


def _offsets(group: np.ndarray, num_groups: int) -> np.ndarray:
    counts = np.bincount(group, minlength=num_groups)
    offsets = np.zeros(num_groups, dtype=np.int64)
    np.cumsum(counts[:-1], out=offsets[1:])
    return offsets


def bm_bag_index(mask: BMSparseMask, cells: Optional[np.ndarray] = None,
                 band_edges: Optional[Sequence[int]] = None) -> BMBagIndex:
    """Regroup the sparse mask's non-zeros by output position and by table row.

    Args:
        mask: from :func:`~mmloc.models.layers.bm_sampling.bm_sparse_mask`.
        cells: (M,) distinct cell ids ``d*T + s`` to compute, in output order; default all
            T*T cells in row-major order.
        band_edges: (K+1,) increasing position edges from 0 to M; default one band.

    Returns:
        :class:`BMBagIndex` (cells without samples, e.g. ``s + d >= T``, have empty bags).
    """
    T = mask.shape[0]
    num_cells = T * T
    num_rows = (mask.shape[1] // num_cells) * T
    cells = np.arange(num_cells) if cells is None else np.asarray(cells, dtype=np.int64)
    band_edges = np.asarray([0, len(cells)] if band_edges is None else band_edges, np.int64)
    if (len(np.unique(cells)) != len(cells) or cells.min(initial=0) < 0
            or cells.max(initial=0) >= num_cells or band_edges[0] != 0
            or band_edges[-1] != len(cells) or np.any(np.diff(band_edges) < 0)):
        raise ValueError('bm_bag_index: cells must be distinct ids in [0, T*T) and band_edges '
                         'increasing from 0 to len(cells)')
    position = np.full(num_cells, -1, dtype=np.int64)
    position[cells] = np.arange(len(cells))
    pos = position[(mask.column % num_cells).astype(np.int64)]
    row = ((mask.column // num_cells) * T + mask.snippet_idx).astype(np.int64)
    kept = pos >= 0
    pos, row, weight = pos[kept], row[kept], mask.weight[kept]
    by_pos = np.lexsort((row, pos))
    by_row = np.lexsort((pos, row))
    bag_offsets = _offsets(pos, len(cells))
    band = np.searchsorted(band_edges, pos[by_row], side='right') - 1
    entry_edges = np.append(bag_offsets, len(pos))[band_edges]
    return BMBagIndex(table_rows=row[by_pos], bag_offsets=bag_offsets,
                      bag_weights=weight[by_pos].astype(np.float32),
                      cells=pos[by_row] - band_edges[band], row_offsets=_offsets(row, num_rows),
                      row_weights=weight[by_row].astype(np.float32),
                      cell_band_start=band_edges[band],
                      cell_band_size=np.diff(band_edges)[band],
                      band_edges=tuple(band_edges.tolist()),
                      band_entry_edges=tuple(entry_edges.tolist()))


def _forward_bags(index: Dict[str, torch.Tensor], batch: int, stride: int,
                  dtype: torch.dtype) -> tuple:
    """The forward bags of ``batch`` videos (tables ``stride`` rows apart), band by band."""
    rows, offsets, weights = index['table_rows'], index['bag_offsets'], index['bag_weights']
    video = torch.arange(batch, device=rows.device)[:, None]
    p, e = index['band_edges'], index['band_entry_edges']
    bands = zip(p[:-1], p[1:], e[:-1], e[1:])
    out_rows, out_offsets, out_weights, start = [], [], [], 0
    for p0, p1, e0, e1 in bands:
        out_rows.append((rows[None, e0:e1] + video * stride).reshape(-1))
        out_offsets.append((offsets[None, p0:p1] - e0 + video * (e1 - e0) + start).reshape(-1))
        out_weights.append(weights[e0:e1].to(dtype).repeat(batch))
        start += batch * (e1 - e0)
    return torch.cat(out_rows), torch.cat(out_offsets), torch.cat(out_weights)


def _transposed_bags(index: Dict[str, torch.Tensor], batch: int, dtype: torch.dtype) -> tuple:
    """The transposed bags of ``batch`` videos, over the (k, b, m) output rows."""
    local, offsets = index['cells'], index['row_offsets']
    video = torch.arange(batch, device=local.device)[:, None]
    out_rows = batch * index['cell_band_start'][None] + video * index['cell_band_size'][None] \
        + local[None]
    return (out_rows.reshape(-1), (offsets[None, :] + video * local.numel()).reshape(-1),
            index['row_weights'].to(dtype).repeat(batch))


def _sparse_sampling_forward(table: torch.Tensor, batch: int,
                             index: Dict[str, torch.Tensor]) -> torch.Tensor:
    """``out[pos] = sum_e w_e * table[row_e]``: (B*N*T, O) table -> (B*M, O), (k, b, m) rows."""
    rows, offsets, weights = _forward_bags(index, batch, table.shape[0] // batch, table.dtype)
    return F.embedding_bag(rows, table, offsets, mode='sum', per_sample_weights=weights)


class _SparseSampling(torch.autograd.Function):
    """``out[pos] = sum_e w_e * table[row_e]`` with the transposed bags as backward.

    The gradient of an ``embedding_bag`` is a sort plus a scatter-add; the transposed
    bags turn it into another (parallel, deterministic) ``embedding_bag``.
    """

    @staticmethod
    def forward(ctx, table, batch, index):
        ctx.index, ctx.batch = index, batch
        return _sparse_sampling_forward(table, batch, index)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        rows, offsets, weights = _transposed_bags(ctx.index, ctx.batch, grad_out.dtype)
        grad_table = F.embedding_bag(rows, grad_out.contiguous(), offsets, mode='sum',
                                     per_sample_weights=weights)
        return grad_table, None, None


def fused_bm_cells(feature: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
                   index: Dict[str, torch.Tensor], relu: bool = False) -> torch.Tensor:
    """BM sampling + the (N, 1, 1) Conv3d on the cells of ``index``, as one (B*M, O) table.

    Args:
        feature: (B, C, T) features entering the BM layer.
        weight: (O, C, N, 1, 1) Conv3d weight (``x_3d_p.0.weight``).
        bias: (O,) Conv3d bias or None.
        index: the fields of :class:`BMBagIndex` as tensors on ``feature``'s device
            (see :func:`bm_bag_tensors`).
        relu: apply the ReLU that follows the Conv3d in BMN, in place.

    Returns:
        (B*M, O), rows in the index's band-major ``(k, b, m)`` order.
    """
    B, C, T = feature.shape
    O, C_w, N = weight.shape[:3]
    if C_w != C or weight.shape[3:] != (1, 1):
        raise ValueError(f'fused_bm_conv3d: weight of shape {tuple(weight.shape)} does not fit '
                         f'features with {C} channels (expected (O, {C}, N, 1, 1))')
    if index['row_offsets'].numel() != N * T:
        raise ValueError(f'fused_bm_conv3d: the bag index was built for another grid than '
                         f'T={T}, N={N}')
    # Channel mixing first: (B, N, T, O) table, one row per (video, bin, snippet).
    table = torch.einsum('bcj,ocn->bnjo', feature, weight[..., 0, 0]).reshape(B * N * T, O)
    if torch.jit.is_tracing() or not (torch.is_grad_enabled() and table.requires_grad):
        # no backward needed (inference, ONNX/TorchScript tracing): the Function's forward
        # is a plain embedding_bag, which tracers can record
        out = _sparse_sampling_forward(table, B, index)
    else:
        out = _SparseSampling.apply(table, B, index)
    if bias is not None:
        out.add_(bias.to(out.dtype))            # in place: the backward needs no output
    if relu:
        out.relu_()
    return out


def fused_bm_conv3d(feature: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
                    index: Dict[str, torch.Tensor], relu: bool = False) -> torch.Tensor:
    """BM sampling followed by the (N, 1, 1) Conv3d, without the dense BM feature.

    Args:
        feature: (B, C, T) features entering the BM layer.
        weight: (O, C, N, 1, 1) Conv3d weight (``x_3d_p.0.weight``).
        bias: (O,) Conv3d bias or None.
        index: the fields of a whole-map :class:`BMBagIndex` (all T*T cells, one band) as
            tensors on ``feature``'s device (see :func:`bm_bag_tensors`).
        relu: apply the ReLU that follows the Conv3d in BMN, in place on the
            contiguous result (an in-place ReLU on the returned view would make
            autograd copy the whole gradient).

    Returns:
        (B, O, T(d), T(s)), equal to ``conv3d(dense_bm_layer(feature, W)).squeeze(2)``
        up to float summation order. The result is a permuted (channels-last) view.
    """
    B, _, T = feature.shape
    if index['bag_offsets'].numel() != T * T or len(index['band_edges']) != 2:
        raise ValueError(f'fused_bm_conv3d: the bag index was built for another grid than '
                         f'T={T}, N={weight.shape[2]}, or for a part of the map')
    out = fused_bm_cells(feature, weight, bias, index, relu)          # (B*T*T, O)
    # Cell-major rows viewed as (B, O, T, T) are channels-last, which CPU convs run fastest.
    return out.reshape(B, T, T, -1).permute(0, 3, 1, 2)


def bm_bag_tensors(index: BMBagIndex, device=None) -> Dict[str, object]:
    """The fields of ``index`` (keys = field names): arrays as tensors, band edges as
    python ints, for :func:`fused_bm_conv3d` / :func:`fused_bm_cells`."""
    return {k: torch.as_tensor(v, device=device) if isinstance(v, np.ndarray) else v
            for k, v in index._asdict().items()}


def dense_bm_layer(feature: torch.Tensor, sample_mask: torch.Tensor,
                   num_samples: int) -> torch.Tensor:
    """MMAction2's BM layer: (B, C, T) @ (T, N*T*T) -> (B, C, N, T, T)."""
    B, C, T = feature.shape
    if sample_mask.shape != (T, num_samples * T * T):
        raise ValueError(f'dense_bm_layer: sample_mask has shape {tuple(sample_mask.shape)}, '
                         f'expected ({T}, {num_samples * T * T}) for T={T}, N={num_samples}')
    out = torch.matmul(feature, sample_mask.to(feature.dtype))
    return out.reshape(B, C, num_samples, T, T)
