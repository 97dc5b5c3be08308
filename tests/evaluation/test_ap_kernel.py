"""The compiled per-class AP gives the numpy path's bits: numpy's own pairwise sum, and the
same curves, on random problems of every size."""
import subprocess
import sys

import numpy as np
import pytest

from mmloc.evaluation.functional import ap_kernel, detection_map

pytest.importorskip('numba')


def test_numpy_sum_has_the_bits_of_np_sum():
    numpy_sum = ap_kernel._KERNELS.get()[1]
    rng = np.random.default_rng(0)
    # magnitudes over 12 decades: any other summation order changes the last bits
    for n in list(range(0, 300)) + [511, 512, 513, 1000, 1024, 1031, 4097, 10_000, 65_537]:
        a = rng.random(n) * 10.0 ** rng.integers(-6, 6, n)
        got = numpy_sum(a, n)
        assert got == np.sum(a) and np.float64(got).tobytes() == np.sum(a).tobytes(), n
    a = rng.random(1000)
    assert numpy_sum(a, 37) == np.sum(a[:37])      # a prefix of a longer buffer


def _problem(rng, n_classes, n_pred, n_thr):
    tp = rng.random((n_pred, n_thr)) < rng.random(n_thr)
    labels = rng.integers(0, n_classes, n_pred)
    scores = np.round(rng.random(n_pred), 2)        # ties
    orders = [np.flatnonzero(labels == c)[np.argsort(scores[labels == c])[::-1]]
              for c in range(n_classes)]
    num_gt = rng.integers(0, 40, n_classes)
    num_gt[rng.random(n_classes) < 0.2] = 0         # classes without GT
    return tp, orders, num_gt


@pytest.mark.parametrize('seed, n_classes, n_pred, n_thr', [
    (0, 5, 40, 10), (1, 30, 3000, 10), (2, 3, 6000, 5), (3, 200, 2000, 10), (4, 1, 1, 1),
    (5, 7, 0, 10)])
def test_class_aps_equal_the_numpy_path(seed, n_classes, n_pred, n_thr):
    rng = np.random.default_rng(seed)
    tp, orders, num_gt = _problem(rng, n_classes, n_pred, n_thr)
    compiled = np.full((n_classes, n_thr), np.nan)
    reference = compiled.copy()
    assert ap_kernel.class_aps(tp, orders, num_gt, compiled)
    detection_map._class_aps_numpy(tp, orders, num_gt, reference)
    assert compiled.tobytes() == reference.tobytes()
    filled = (num_gt > 0) & (np.array([len(o) for o in orders]) > 0)
    assert np.isfinite(compiled[filled]).all() and np.isnan(compiled[~filled]).all()


def test_compute_detection_map_without_numba_gives_the_same_map():
    code = '''
import sys
if sys.argv[1] == "off":
    sys.modules["numba"] = None
import numpy as np
from mmloc.evaluation.functional import ap_kernel, compute_detection_map
rng = np.random.default_rng(0)
gt = {f"v{i}": (np.sort(rng.uniform(0, 50, (3, 2)), axis=1), rng.integers(0, 4, 3))
      for i in range(60)}
pr = {f"v{i}": (np.sort(rng.uniform(0, 50, (40, 2)), axis=1), rng.random(40),
                rng.integers(0, 4, 40)) for i in range(60)}
out = compute_detection_map(gt, pr, 5)
assert (ap_kernel._KERNELS.get() is None) == (sys.argv[1] == "off")
print(out["ap"].tobytes().hex())
'''
    runs = [subprocess.run([sys.executable, '-c', code, flag], capture_output=True, text=True,
                           check=True).stdout for flag in ('off', 'on')]
    assert runs[0] == runs[1] and len(runs[0]) > 100
