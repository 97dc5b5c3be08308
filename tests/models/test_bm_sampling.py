"""BM sampling mask: loop reference (spec §3.3), golden values, sparse structure."""
import math

import numpy as np
import pytest

from mmloc.models.layers import (bm_bag_index, bm_dense_mask, bm_sample_points, bm_sparse_mask,
                                 bm_valid_mask)


def _loop_mask(T, N, P, ratio):
    """Deliberately simple quadruple loop, as MMAction2 builds the mask."""
    mask = np.zeros((T, N, T, T))
    for s in range(T):
        for d in range(T):
            if s + d >= T:
                continue
            center_len = float(d) + 1
            xmin = s - center_len * ratio
            xmax = s + d + center_len * ratio
            step = (xmax - xmin) / (N * P - 1.0)
            points = [xmin + step * i for i in range(N * P)]
            for n in range(N):
                vec = np.zeros(T)
                for x in points[n * P:(n + 1) * P]:
                    up = math.ceil(x)
                    frac, down = math.modf(x)
                    if 0 <= int(down) <= T - 1:
                        vec[int(down)] += 1 - frac
                    if 0 <= int(up) <= T - 1:
                        vec[int(up)] += frac
                mask[:, n, d, s] = 1.0 / P * vec
    return mask.astype(np.float32).reshape(T, -1)


@pytest.mark.parametrize('T,N,P,ratio', [(8, 4, 3, 0.5), (12, 5, 2, 0.3), (16, 32, 3, 0.5),
                                         (7, 3, 1, 0.0), (10, 6, 4, 1.0)])
def test_dense_mask_equals_loop_reference_bitwise(T, N, P, ratio):
    np.testing.assert_array_equal(bm_dense_mask(T, N, P, ratio), _loop_mask(T, N, P, ratio))


def test_golden_values_default_config():
    W = bm_dense_mask(100, 32, 3, 0.5).reshape(100, 32, 100, 100)    # [j, n, d, s]
    # (s=0, d=0): range [-0.5, 0.5]; every bin has total weight 1. Bins 0-15 hold only
    # points in [-0.5, 0) which clamp to index 0 (net weight 1 there); the later bins
    # interpolate between j = 0 and j = 1, e.g. bin 31 at x = -0.5 + k/95, k = 93..95.
    # (The spec's wording "all 32 bins put weight 1.0 on j = 0" holds for the totals.)
    np.testing.assert_allclose(W[:, :, 0, 0].sum(axis=0), 1.0, atol=1e-6)
    np.testing.assert_allclose(W[0, :16, 0, 0], 1.0, atol=1e-6)
    np.testing.assert_array_equal(W[1:, :16, 0, 0], 0.0)
    expected_j0 = sum(1 - (-0.5 + k / 95) for k in (93, 94, 95)) / 3
    assert W[0, 31, 0, 0] == pytest.approx(expected_j0, abs=1e-6)
    assert W[1, 31, 0, 0] == pytest.approx(1 - expected_j0, abs=1e-6)
    # (s=0, d=2): range [-1.5, 3.5]; bins 0-2 weigh 0, bin 3 has 2/3, bins 4.. have 1.
    totals = W[:, :, 2, 0].sum(axis=0)
    np.testing.assert_allclose(totals[:3], 0.0, atol=1e-7)
    assert totals[3] == pytest.approx(2 / 3, abs=1e-6)
    np.testing.assert_allclose(totals[4:], 1.0, atol=1e-6)
    # Invalid cells (s + d >= T) are all zero.
    assert not W[:, :, 50, 50].any() and not W[:, :, 99, 1].any()


def test_hand_checked_small_case():
    # T=4, N=2, P=2, ratio 0, (s=1, d=2): points 1, 5/3, 7/3, 3 -> bins {1, 5/3}, {7/3, 3}.
    W = bm_dense_mask(4, 2, 2, 0.0).reshape(4, 2, 4, 4)
    np.testing.assert_allclose(W[:, 0, 2, 1], [0, 0.5 + 0.5 / 3, 0.5 * 2 / 3, 0], atol=1e-7)
    np.testing.assert_allclose(W[:, 1, 2, 1], [0, 0, 0.5 * 2 / 3, 0.5 + 0.5 / 3], atol=1e-7)


def test_column_sums_and_sparsity():
    T, N, P = 20, 8, 3
    sp = bm_sparse_mask(T, N, P, 0.5)
    counts = np.bincount(sp.column, minlength=N * T * T)
    assert counts.max() <= 2 * P
    sums = np.zeros(N * T * T)
    np.add.at(sums, sp.column, sp.weight.astype(np.float64))
    assert sums.max() <= 1 + 1e-6 and sums.min() >= -1e-7
    # A bin whose points all lie in (-1, T-1] keeps total weight 1 (clamp quirk at 0).
    x = bm_sample_points(T, N, P, 0.5).reshape(-1, N, P)
    inside = ((x > -1) & (x <= T - 1)).all(axis=2)                 # (V, N)
    valid = np.flatnonzero(bm_valid_mask(T).ravel())
    cols = (np.arange(N)[None, :] * T * T + valid[:, None])[inside]
    np.testing.assert_allclose(sums[cols], 1.0, atol=1e-6)
    # Out-of-range cells have no entries at all.
    cell = sp.column % (T * T)
    assert np.all(bm_valid_mask(T).ravel()[cell] == 1)


def test_bag_index_covers_every_nonzero_once_both_ways():
    T, N, P = 9, 4, 3
    bags = bm_bag_index(bm_sparse_mask(T, N, P, 0.5))
    assert bags.bag_offsets.shape == (T * T,) and bags.row_offsets.shape == (N * T,)
    dense = bm_dense_mask(T, N, P, 0.5).reshape(T, N, T * T)
    by_cell = np.zeros_like(dense)
    ends = np.append(bags.bag_offsets[1:], len(bags.table_rows))
    for cell in range(T * T):
        for k in range(bags.bag_offsets[cell], ends[cell]):
            j, n = divmod(int(bags.table_rows[k]), N)     # table row j*N + n
            by_cell[j, n, cell] += bags.bag_weights[k]
    by_row = np.zeros_like(dense)
    ends = np.append(bags.row_offsets[1:], len(bags.cells))
    for row in range(N * T):
        j, n = divmod(row, N)
        for k in range(bags.row_offsets[row], ends[row]):
            by_row[j, n, bags.cells[k]] += bags.row_weights[k]
    np.testing.assert_array_equal(by_cell, dense)
    np.testing.assert_array_equal(by_row, dense)


def test_bag_index_of_chosen_cells():
    # a subset of cells in a chosen order: every non-zero of those cells once, both ways
    T, N, P = 7, 3, 2
    cells = np.random.default_rng(0).permutation(T * T)[:20]
    bags = bm_bag_index(bm_sparse_mask(T, N, P, 0.5), cells)
    want = bm_dense_mask(T, N, P, 0.5).reshape(T, N, T * T)[:, :, cells]   # (j, n, position)
    by_pos = np.zeros_like(want)
    ends = np.append(bags.bag_offsets[1:], len(bags.table_rows))
    for m in range(len(cells)):
        for k in range(bags.bag_offsets[m], ends[m]):
            j, n = divmod(int(bags.table_rows[k]), N)
            by_pos[j, n, m] += bags.bag_weights[k]
    by_row = np.zeros_like(want)
    ends = np.append(bags.row_offsets[1:], len(bags.cells))
    for row in range(N * T):
        j, n = divmod(row, N)
        for k in range(bags.row_offsets[row], ends[row]):
            by_row[j, n, bags.cells[k]] += bags.row_weights[k]
    np.testing.assert_array_equal(by_pos, want)
    np.testing.assert_array_equal(by_row, want)
    with pytest.raises(ValueError, match='bm_bag_index'):
        bm_bag_index(bm_sparse_mask(T, N, P, 0.5), np.array([1, 1]))


def test_bad_arguments_named():
    with pytest.raises(ValueError, match='num_samples'):
        bm_sparse_mask(10, 0, 3, 0.5)
