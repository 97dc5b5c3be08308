"""The compiled per-class AP gives the numpy path's bits: numpy's own pairwise sum, and the
same curves, on random problems of every size."""
import subprocess
import sys

import numpy as np
import pytest

from mmloc.evaluation.functional import detection_kernels, detection_map

pytest.importorskip('numba')


def test_numpy_sum_has_the_bits_of_np_sum():
    numpy_sum = detection_kernels._KERNELS.get()[1]
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
    assert detection_kernels.class_aps(tp, orders, num_gt, compiled)
    detection_map._class_aps_numpy(tp, orders, num_gt, reference)
    assert compiled.tobytes() == reference.tobytes()
    filled = (num_gt > 0) & (np.array([len(o) for o in orders]) > 0)
    assert np.isfinite(compiled[filled]).all() and np.isnan(compiled[~filled]).all()


@pytest.mark.parametrize('fill', ['none', 'all', 'first_only', 'last_only'])
def test_class_aps_at_the_ends_of_the_curve(fill):
    # no true positive; all (recall reaching exactly 1: no padded term); one at either end
    n = 300
    tp = np.zeros((n, 3), bool)
    if fill == 'all':
        tp[:] = True
    elif fill == 'first_only':
        tp[0] = True
    elif fill == 'last_only':
        tp[-1] = True
    orders, num_gt = [np.arange(n)[::-1].copy(), np.arange(0)], np.array([n, 4])
    compiled, reference = np.full((2, 3), np.nan), np.full((2, 3), np.nan)
    assert detection_kernels.class_aps(tp, orders, num_gt, compiled)
    detection_map._class_aps_numpy(tp, orders, num_gt, reference)
    assert compiled.tobytes() == reference.tobytes()
    assert compiled[0, 0] == {'none': 0.0, 'all': 1.0}.get(fill, compiled[0, 0])


def test_compute_detection_map_without_numba_gives_the_same_map():
    code = '''
import sys
if sys.argv[1] == "off":
    sys.modules["numba"] = None
import numpy as np
from mmloc.evaluation.functional import detection_kernels, compute_detection_map
rng = np.random.default_rng(0)
gt = {f"v{i}": (np.sort(rng.uniform(0, 50, (3, 2)), axis=1), rng.integers(0, 4, 3))
      for i in range(60)}
pr = {f"v{i}": (np.sort(rng.uniform(0, 50, (40, 2)), axis=1), rng.random(40),
                rng.integers(0, 4, 40)) for i in range(60)}
out = compute_detection_map(gt, pr, 5)
assert (detection_kernels._KERNELS.get() is None) == (sys.argv[1] == "off")
print(out["ap"].tobytes().hex())
'''
    runs = [subprocess.run([sys.executable, '-c', code, flag], capture_output=True, text=True,
                           check=True).stdout for flag in ('off', 'on')]
    assert runs[0] == runs[1] and len(runs[0]) > 100


def _match_problem(seed, n_videos=40, n_classes=4, ties=False, duplicates=False):
    rng = np.random.default_rng(seed)
    gt, pr = {}, {}
    for v in range(n_videos):
        g = int(rng.integers(0, 6))
        start = rng.uniform(0, 80, g)
        seg = np.stack([start, start + rng.uniform(0, 30, g)], 1)
        if ties:                                   # a grid: equal IoUs of other segments
            seg = np.round(seg / 5) * 5
        labels = rng.integers(0, n_classes, g)
        if duplicates and g:
            seg, labels = np.concatenate([seg, seg[:1]]), np.concatenate([labels, labels[:1]])
        gt[f'v{v}'] = (seg, labels)
        p = int(rng.integers(0, 30))
        start = rng.uniform(0, 90, p)
        pseg = np.stack([start, start + rng.uniform(0, 30, p)], 1)
        if ties:
            pseg = np.round(pseg / 5) * 5
        pr[f'v{v}'] = (pseg, np.round(rng.random(p), 2), rng.integers(0, n_classes, p))
    if ties:   # one sure tie: [1, 11] meets [0, 10] and [2, 12] at IoU 9 / 11 each
        seg, labels = gt['v0']
        gt['v0'] = (np.concatenate([seg, [[0.0, 10.0], [2.0, 12.0]]]),
                    np.concatenate([labels, [0, 0]]))
        seg, scores, labels = pr['v0']
        pr['v0'] = (np.concatenate([seg, [[1.0, 11.0]]]), np.concatenate([scores, [0.5]]),
                    np.concatenate([labels, [0]]))
    return gt, pr


@pytest.mark.parametrize('seed', range(6))
@pytest.mark.parametrize('kind', ['plain', 'ties', 'duplicates'])
@pytest.mark.parametrize('with_matched_gt', [False, True])
def test_greedy_match_equals_the_numpy_steps(monkeypatch, seed, kind, with_matched_gt):
    gt, pr = _match_problem(seed, ties=kind == 'ties', duplicates=kind == 'duplicates')
    used = []
    real = detection_map.greedy_match
    monkeypatch.setattr(detection_map, 'greedy_match',
                        lambda *a: used.append(real(*a)) or used[-1])
    fast = detection_map.match_detections(gt, pr, 4, with_matched_gt=with_matched_gt)
    monkeypatch.setattr(detection_map, 'greedy_match', lambda *a: False)
    slow = detection_map.match_detections(gt, pr, 4, with_matched_gt=with_matched_gt)
    assert (fast['tp'] == slow['tp']).all() and fast['tp'].any()
    if with_matched_gt:
        assert (fast['matched_gt'] == slow['matched_gt']).all()
    # continuous segments have no equal IoUs; a grid has, and hands back to numpy;
    # duplicate GT segments only when the matched GT is asked for
    expect = {'plain': True, 'ties': False, 'duplicates': not with_matched_gt}[kind]
    assert used == [expect]


def test_greedy_match_of_zero_length_segments(monkeypatch):
    # a zero union is a match at every threshold (the official 0 / 0), +inf here
    gt = {'a': (np.array([[5.0, 5.0], [1.0, 9.0]]), np.array([0, 0]))}
    pr = {'a': (np.array([[5.0, 5.0], [2.0, 9.0], [5.0, 5.0]]), np.array([0.9, 0.8, 0.7]),
                np.array([0, 0, 0]))}
    fast = detection_map.match_detections(gt, pr, 1)
    monkeypatch.setattr(detection_map, 'greedy_match', lambda *a: False)
    slow = detection_map.match_detections(gt, pr, 1)
    assert (fast['tp'] == slow['tp']).all() and (fast['matched_gt'] == slow['matched_gt']).all()
    assert fast['tp'][0].all() and fast['matched_gt'][0, 0] == 0 and not fast['tp'][2].any()
