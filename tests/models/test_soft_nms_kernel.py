"""The compiled Soft-NMS rounds (numba) keep the same ids and score bits as the numpy path."""
import numpy as np
import pytest

from mmloc.models.post_processing import nms, soft_nms_kernel

pytestmark = pytest.mark.skipif(not soft_nms_kernel.available(), reason='numba not installed')


def _both(monkeypatch, *args, **kwargs):
    monkeypatch.setattr(nms, 'KERNEL_MAX_NS_PER_ROUND', float('inf'))
    segs = np.asarray(args[0], kwargs.get('dtype', np.float64))
    scores = np.asarray(args[1], kwargs.get('dtype', np.float64))
    thr = kwargs.get('iou_threshold')
    thr = None if thr is None else np.broadcast_to(np.asarray(thr, segs.dtype), scores.shape)
    assert nms.uses_kernel(segs, thr, len(scores)) is not None
    fast = nms.soft_nms(*args, **kwargs)
    monkeypatch.setattr(soft_nms_kernel, 'available', lambda: False)
    slow = nms.soft_nms(*args, **kwargs)
    monkeypatch.undo()
    return fast, slow


def _segments(rng, n, grid):
    if grid:                                   # BMN-like: grid-aligned, exact-threshold IoUs
        a, b = np.sort(rng.integers(0, 100, size=(2, n)), axis=0)
        return np.stack([a, b + 1], 1) / 100.0
    s = rng.random(n) * 10
    return np.stack([s, s + rng.random(n) * 3], 1)


@pytest.mark.parametrize('seed', range(12))
@pytest.mark.parametrize('dtype', [np.float64, np.float32])
def test_kernel_matches_numpy_path(monkeypatch, seed, dtype):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 600))
    segs = _segments(rng, n, grid=seed % 2 == 0)
    # ties: scores on a coarse grid for half the seeds
    scores = np.round(rng.random(n), 2 if seed % 3 == 0 else 12)
    width = segs[:, 1] - segs[:, 0]
    variants = [
        dict(sigma=0.4, iou_threshold=0.5 + 0.4 * width, top_k=101, union='mmaction2'),
        dict(sigma=0.5),
        dict(sigma=0.5, min_score=0.05, drop_last=True, selected_length_floor=1e-5),
        dict(method='linear', iou_threshold=0.3, top_k=50),
        dict(method='linear', min_score=0.2, union='mmaction2'),
        dict(sigma=0.01, iou_threshold=0.1),
    ]
    for kw in variants:
        (k1, s1), (k2, s2) = _both(monkeypatch, segs, scores, dtype=dtype, **kw)
        assert np.array_equal(k1, k2), kw
        assert s1.dtype == s2.dtype == np.dtype(dtype)
        assert s1.tobytes() == s2.tobytes(), kw


def test_mmaction2_soft_nms_kernel_matches(monkeypatch):
    rng = np.random.default_rng(7)
    for _ in range(5):
        segs = _segments(rng, 430, grid=True)
        rows = np.column_stack([segs, rng.random((430, 4))])
        for dtype in (np.float64, np.float32):
            fast = nms.mmaction2_soft_nms(rows, 0.4, 0.5, 0.9, 100, dtype=dtype)
            monkeypatch.setattr(soft_nms_kernel, 'available', lambda: False)
            slow = nms.mmaction2_soft_nms(rows, 0.4, 0.5, 0.9, 100, dtype=dtype)
            monkeypatch.undo()
            assert fast.tobytes() == slow.tobytes()


@pytest.mark.parametrize('dtype', [np.float64, np.float32])
def test_kernel_matches_over_thousands_of_rounds(monkeypatch, dtype):
    # AFSD's video-level Soft-NMS: a round per candidate, the maximum from many blocks, ties
    rng = np.random.default_rng(11)
    n = 3000
    start = rng.uniform(0, 100, n)
    segs = np.column_stack([start, start + rng.uniform(0.5, 10, n)])
    scores = np.round(rng.random(n), 3)
    for kw in (dict(sigma=0.5, min_score=0.001, top_k=5000, drop_last=True),
               dict(sigma=0.5), dict(method='linear', iou_threshold=0.2)):
        (k1, s1), (k2, s2) = _both(monkeypatch, segs, scores, dtype=dtype, **kw)
        assert len(k1) > 500 and np.array_equal(k1, k2), kw
        assert s1.tobytes() == s2.tobytes(), kw


def test_kernel_declines_unsafe_inputs():
    segs = np.array([[0.0, 1.0], [0.5, 0.2]])          # a negative length
    assert nms.uses_kernel(segs, None, 2) is None
    assert nms.uses_kernel(np.array([[0.0, np.inf], [0.0, 1.0]]), None, 2) is None
    ok = np.array([[0.0, 1.0], [0.5, 1.2]])
    assert nms.uses_kernel(ok, None, 2, np.array([0.9, 0.5])) is not None
    for bad in (np.nan, np.inf, -np.inf):                # the block maxima need finite scores
        assert nms.uses_kernel(ok, None, 2, np.array([0.9, bad])) is None


def test_non_finite_scores_keep_numpys_order():
    segs = np.array([[0.0, 1.0], [0.5, 1.2], [0.6, 2.0], [3.0, 4.0]])
    scores = np.array([0.5, np.nan, np.inf, -np.inf])
    keep, kept = nms.soft_nms(segs, scores, sigma=0.5)
    assert keep.tolist() == [1, 2, 0, 3]                 # argmax: the first NaN, then inf


def test_kernel_runs_where_its_rounds_cost_less():
    # nms.KERNEL_*: BMN-like rows (MMAction2's thresholds) cross over between 500 and 1000
    # candidates, AFSD-like ones (no thresholds, sparse overlaps) between 2000 and 4000
    rng = np.random.default_rng(0)

    def bmn_like(n):
        s = rng.uniform(0, 1, n)
        return np.column_stack([s, np.minimum(1, s + rng.uniform(0, 0.3, n))])

    def afsd_like(n):
        s = rng.uniform(0, 100, n)
        return np.column_stack([s, s + rng.uniform(0.5, 10, n)])

    half = np.full(2000, 0.5)
    assert nms.uses_kernel(bmn_like(400), half[:400], 100) is not None
    assert nms.uses_kernel(bmn_like(2000), half, 100) is None
    assert nms.uses_kernel(afsd_like(1000), None, 1000) is not None
    assert nms.uses_kernel(afsd_like(5000), None, 5000) is None


def test_numpy_path_still_runs_without_numba(monkeypatch):
    monkeypatch.setattr(soft_nms_kernel, 'available', lambda: False)
    segs = np.array([[0.0, 1.0], [0.1, 1.0], [2.0, 3.0]])
    keep, scores = nms.soft_nms(segs, np.array([0.9, 0.8, 0.7]), sigma=0.5)
    assert keep.tolist() == [0, 2, 1]
    assert scores[1] == 0.7 and scores[2] < 0.8



def _run_python(code):
    """stdout lines of ``code`` in a fresh interpreter."""
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.splitlines()


_THREE = ('import numpy as np\n'
          'segs = np.array([[0., 2.], [1., 3.], [5., 6.]])\n'
          'scores = np.array([.9, .8, .7])\n')


def test_numba_is_imported_by_the_first_soft_nms_only():
    # ~0.4 s and ~55 MiB that processes without Soft-NMS should not pay
    out = _run_python(
        'import sys\n' + _THREE +
        'import mmloc.models, mmloc.datasets, mmloc.evaluation\n'
        'from mmloc.models.post_processing import nms\n'
        "print('numba' in sys.modules)\n"
        "nms.soft_nms(segs, scores, method='gaussian')\n"
        "print('numba' in sys.modules)\n")
    assert out == ['False', 'True']


def test_numpy_path_when_numba_fails_to_import():
    import json
    out = _run_python(
        "import json, sys; sys.modules['numba'] = None   # import numba: ImportError\n" + _THREE +
        'from mmloc.models.post_processing import nms, soft_nms_kernel\n'
        "keep, kept = nms.soft_nms(segs, scores, method='gaussian')\n"
        'print(soft_nms_kernel.available())\n'
        'print(json.dumps([keep.tolist(), kept.tolist()]))\n')
    segs = np.array([[0., 2.], [1., 3.], [5., 6.]])
    keep, kept = nms.soft_nms(segs, np.array([.9, .8, .7]), method='gaussian')
    assert out[0] == 'False'
    assert json.loads(out[1]) == [keep.tolist(), kept.tolist()]



@pytest.mark.parametrize('with_thresholds', [False, True])
def test_sampled_scan_is_the_full_scan_at_those_rows(with_thresholds):
    # nms.uses_kernel estimates the pair count from a strided sample before the full scan
    rng = np.random.default_rng(5)
    segs = _segments(rng, 900, grid=False)
    start, end = segs[:, 0].copy(), segs[:, 1].copy()
    length = end - start
    thr = rng.uniform(0.2, 0.9, 900) if with_thresholds else None
    total, order, first, stop = soft_nms_kernel.scanned_pairs(start, end, length, thr)
    rows = np.linspace(0, 899, 64).astype(np.int64)
    sampled, order2, f2, s2 = soft_nms_kernel.scanned_pairs(start, end, length, thr, rows)
    np.testing.assert_array_equal(order2, order)
    np.testing.assert_array_equal(f2, first[rows])
    np.testing.assert_array_equal(s2, stop[rows])
    assert sampled == int((stop[rows] - first[rows]).sum()) and 0 < sampled < total
    again = soft_nms_kernel.scanned_pairs(start, end, length, thr, order=order)
    assert again[0] == total and np.array_equal(again[2], first)
