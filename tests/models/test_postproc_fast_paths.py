"""The fast Soft-NMS (decay rows computed ahead in batches) and ``bmn_candidates`` (cached
triangle index) give the bits of the per-round loop they replaced
(tests/models/postproc_loop_reference.py).

No timing here: seeded random inputs, trained-like BMN maps (the peer's ``synth.bmn_output``
when its directory is there), grid-aligned ties, zero widths, 0/1/2 candidates, float32 rows.
"""
import os.path as osp
import sys

import numpy as np
import pytest

sys.path.insert(0, osp.dirname(__file__))
import postproc_loop_reference as ref  # noqa: E402

from mmloc.models.localizers.bmn import bmn_candidates  # noqa: E402
from mmloc.models.post_processing import nms  # noqa: E402
from mmloc.models.post_processing.nms import mmaction2_soft_nms, soft_nms  # noqa: E402

PEER = osp.join(osp.dirname(__file__), '..', '..', '..', 'shared', 'peer-bench')


def _same(a, b):
    return all(np.array_equal(x, y) and x.dtype == y.dtype for x, y in zip(a, b))


def _random_segments(rng, n, grid=None, dtype=np.float64):
    s = rng.uniform(0, 1, n)
    e = np.minimum(1, s + rng.uniform(0, 0.6, n))
    if grid:
        s, e = np.floor(s * grid) / grid, np.ceil(e * grid) / grid
    seg = np.stack([s, e], 1).astype(dtype)
    zero = rng.random(n) < 0.05
    seg[zero, 1] = seg[zero, 0]
    return seg


@pytest.mark.parametrize('seed', range(40))
@pytest.mark.parametrize('dtype', [np.float64, np.float32])
def test_mmaction2_soft_nms_equals_loop(seed, dtype):
    rng = np.random.default_rng(seed)
    n = [0, 1, 2, 3, 50, 200, 700][seed % 7]
    seg = _random_segments(rng, n, grid=[None, 100, 20][seed % 3], dtype=dtype)
    score = rng.random(n).astype(dtype)
    if seed % 4 == 0:
        score = np.round(score, 1)                    # ties
    rows = np.column_stack([seg, rng.random((n, 3)), score]).astype(dtype)
    top_k = [100, 5, 0, 1000][seed % 4]
    for alpha, low, high in [(0.4, 0.5, 0.9), (0.75, 0.65, 0.9), (1e-4, 0.5, 0.9), (0.4, 0, 0)]:
        got = mmaction2_soft_nms(rows, alpha, low, high, top_k, dtype=dtype)
        want = ref.reference_mmaction2_soft_nms(rows, alpha, low, high, top_k, dtype=dtype)
        assert got.dtype == want.dtype and np.array_equal(got, want), (alpha, low, high)


@pytest.mark.parametrize('seed', range(30))
def test_soft_nms_options_equal_loop(seed):
    rng = np.random.default_rng(100 + seed)
    n = [0, 1, 2, 40, 300][seed % 5]
    seg = _random_segments(rng, n, grid=[None, 50][seed % 2])
    score = rng.random(n)
    thr = [None, 0.3, rng.uniform(0, 0.9, n), -0.1][seed % 4]
    for kw in [dict(), dict(method='linear'), dict(min_score=0.2), dict(top_k=7),
               dict(drop_last=True, min_score=0.001, selected_length_floor=1e-5),
               dict(union='mmaction2'), dict(sigma=1e-4)]:
        got = soft_nms(seg, score, iou_threshold=thr, **kw)
        want = ref.reference_soft_nms(seg, score, iou_threshold=thr, **kw)
        assert _same(got, want), kw


def test_soft_nms_tiny_segments_float32():
    # kept lengths of a few ulps: the IoU pre-filter must let them through to the exact test
    rng = np.random.default_rng(7)
    s = rng.uniform(0.5, 0.51, 300).astype(np.float32)
    e = s + (rng.integers(0, 4, 300) * np.spacing(np.float32(0.5))).astype(np.float32)
    seg = np.stack([s, e], 1)
    score = rng.random(300).astype(np.float32)
    thr = (0.5 + 0.4 * (e - s)).astype(np.float32)
    for union in ('sum', 'mmaction2'):
        got = soft_nms(seg, score, iou_threshold=thr, union=union, dtype=np.float32)
        want = ref.reference_soft_nms(seg, score, iou_threshold=thr, union=union,
                                      dtype=np.float32)
        assert _same(got, want)


def _bmn_maps(rng, T, peaky):
    start, end = rng.random(T).astype(np.float32), rng.random(T).astype(np.float32)
    if peaky:
        start[rng.integers(0, T, 5)] = 0.9
    return start, end, rng.random((T, T)).astype(np.float32), rng.random((T, T)).astype(
        np.float32)


@pytest.mark.parametrize('T', [1, 2, 3, 17, 100])
def test_bmn_candidates_equal_loop(T):
    rng = np.random.default_rng(T)
    for peaky in (False, True):
        maps = _bmn_maps(rng, T, peaky)
        got, want = bmn_candidates(*maps), ref.reference_bmn_candidates(*maps)
        assert got.dtype == want.dtype and np.array_equal(got, want)
    flat = (np.full(T, 0.5, np.float32), ) * 2 + (np.ones((T, T), np.float32), ) * 2
    assert np.array_equal(bmn_candidates(*flat), ref.reference_bmn_candidates(*flat))


@pytest.mark.skipif(not osp.isfile(osp.join(PEER, 'synth.py')), reason='no peer synth.py')
def test_trained_like_bmn_maps_equal_loop():
    sys.path.insert(0, PEER)
    import synth
    for i, info in enumerate(synth.video_infos(12, seed=3)):
        start, end, bm = synth.bmn_output(info, seed=i)
        rows = bmn_candidates(start, end, bm[1], bm[0])
        assert np.array_equal(rows, ref.reference_bmn_candidates(start, end, bm[1], bm[0]))
        got = mmaction2_soft_nms(rows, 0.4, 0.5, 0.9, 100)
        assert np.array_equal(got, ref.reference_mmaction2_soft_nms(rows, 0.4, 0.5, 0.9, 100))
        rows32 = rows[:, [0, 1, 2, 3, 4, 6]].astype(np.float32)     # PEM-like float32 rows
        got = mmaction2_soft_nms(rows32, 0.75, 0.65, 0.9, 100, dtype=np.float32)
        want = ref.reference_mmaction2_soft_nms(rows32, 0.75, 0.65, 0.9, 100, dtype=np.float32)
        assert np.array_equal(got, want)


@pytest.mark.parametrize('union', ['sum', 'mmaction2'])
def test_soft_nms_reversed_segments_equal_loop(union):
    # end < start: the overlap test cannot be left to IoU > thr
    rng = np.random.default_rng(11)
    seg = _random_segments(rng, 120)
    seg[::3] = seg[::3, ::-1]
    score = rng.random(120)
    for thr in (0.0, 0.5, rng.uniform(0, 0.9, 120)):
        got = soft_nms(seg, score, iou_threshold=thr, union=union)
        assert _same(got, ref.reference_soft_nms(seg, score, iou_threshold=thr, union=union))


@pytest.fixture
def numpy_rows(monkeypatch):
    """The numpy row sources, also where numba would run the compiled rounds."""
    from mmloc.models.post_processing import soft_nms_kernel
    monkeypatch.setattr(soft_nms_kernel, 'available', lambda: False)


@pytest.mark.parametrize('rows, max_batched', [(1, 1024), (2, 1024), (5, 1024), (32, 1024),
                                               (400, 1024), (32, 0), (32, 40)])
def test_soft_nms_any_batch_of_decay_rows_equals_loop(monkeypatch, numpy_rows, rows,
                                                      max_batched):
    # one row per miss, tiny batches, one batch for everything, rows per round only, and
    # both by N: the rows computed ahead (and the ones never used) must not change a bit
    monkeypatch.setattr(nms._BatchedRows, 'ROWS', rows)
    monkeypatch.setattr(nms, 'BATCHED_ROWS_MAX_CANDIDATES', max_batched)
    rng = np.random.default_rng(rows)
    for n, grid in [(300, None), (300, 50), (33, 20), (700, None)]:
        seg = _random_segments(rng, n, grid=grid)
        score = rng.random(n)
        prop = np.column_stack([seg, score])
        for alpha, low, high in [(0.4, 0.5, 0.9), (0.4, 0.0, 0.0)]:
            assert np.array_equal(mmaction2_soft_nms(prop, alpha, low, high, 100),
                                  ref.reference_mmaction2_soft_nms(prop, alpha, low, high, 100))
        # float32 (PEM): numpy's float32 exp on a few gathered lanes, as on whole rows
        prop32 = prop.astype(np.float32)
        assert np.array_equal(
            mmaction2_soft_nms(prop32, 0.75, 0.65, 0.9, 100, dtype=np.float32),
            ref.reference_mmaction2_soft_nms(prop32, 0.75, 0.65, 0.9, 100, dtype=np.float32))
        for kw in [dict(method='linear', iou_threshold=0.3), dict(min_score=0.3),
                   dict(drop_last=True, min_score=0.001, selected_length_floor=1e-5)]:
            assert _same(soft_nms(seg, score, **kw), ref.reference_soft_nms(seg, score, **kw)), kw


def test_soft_nms_keeps_no_decay_row_it_will_not_use(monkeypatch, numpy_rows):
    # rows are handed out once and dropped for candidates below the score floor: every row
    # held belongs to a live candidate (score > -inf), so the rows do not pile up
    stale, held = [], []
    original = nms._BatchedRows.pop

    def pop(self, m, work):
        out = original(self, m, work)
        stale.extend(j for j in self.computed if not work[j] > -np.inf)
        held.append(len(self.computed))
        return out
    monkeypatch.setattr(nms._BatchedRows, 'pop', pop)
    rng = np.random.default_rng(3)
    seg = _random_segments(rng, 500)
    keep, _ = soft_nms(seg, rng.random(500), min_score=0.5)
    assert len(keep) > nms._BatchedRows.ROWS and max(held) > 0 and not stale


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_numpy_exp_gives_each_lane_the_same_bits_whatever_the_array(dtype):
    # _BatchedRows takes the exp of the few gathered lanes that decay; the per-round rows
    # take it of whole (N,) rows. Soft-NMS parity rests on numpy computing every lane alike
    rng = np.random.default_rng(0)
    full = (-rng.random(4099) / rng.uniform(0.01, 1.5)).astype(dtype)   # -IoU^2 / sigma
    whole = np.exp(full)
    for size in list(range(1, 40)) + [63, 64, 65, 127, 128, 129, 1000]:
        idx = np.sort(rng.choice(len(full), size, replace=False))
        assert np.array_equal(np.exp(full[idx]), whole[idx]), size
        out = full[idx]
        assert np.array_equal(np.exp(out, out=out), whole[idx]), size     # in place
    assert np.array_equal(np.exp(full[:4097].reshape(17, 241)).reshape(-1), whole[:4097])
