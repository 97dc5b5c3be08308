"""VideoColumns: the mapping it stands for, the metric reading its columns as they are,
and the few containers a detection load keeps alive."""
import gc
import json

import numpy as np
import pytest

from mmloc.evaluation.functional import ANET_TIOU_THRESHOLDS, compute_detection_map
from mmloc.evaluation.functional import detection_map as dm
from mmloc.evaluation.functional.video_columns import VideoColumns


def _predictions(rng, sizes=(3, 0, 5, 1, 7), n_cls=3):
    return {f'v{i}': (np.sort(rng.uniform(0, 50, (n, 2)), axis=1), rng.random(n),
                      rng.integers(0, n_cls, n)) for i, n in enumerate(sizes)}


def test_video_columns_is_the_mapping_of_per_video_views():
    preds = _predictions(np.random.default_rng(0))
    cols = dm.as_video_columns(preds, 3, 'predictions')
    assert list(cols) == list(preds) and len(cols) == len(preds)
    assert 'v2' in cols and 'v9' not in cols
    for vid, value in preds.items():
        got = cols[vid]
        assert len(got) == 3
        for a, b in zip(got, value):
            assert a.dtype == b.dtype or b.dtype == np.int64
            assert np.array_equal(a, b)
        assert np.shares_memory(got[0], cols.columns[0]) or got[0].size == 0
    assert dict(cols.items()).keys() == preds.keys()
    with pytest.raises(KeyError):
        cols['v9']
    assert '5 videos, 16 rows, 3 columns' in repr(cols)


@pytest.mark.parametrize('bad, message', [
    (dict(videos=['a', 'b'], sizes=[1], columns=[np.zeros((1, 2))]), '2 videos but 1 sizes'),
    (dict(videos=['a'], sizes=[-1], columns=[]), 'sizes must be >= 0'),
    (dict(videos=['a', 'b'], sizes=[1, 2], columns=[np.zeros((2, 2))]), 'column 0: expected an array of 3 rows'),
    (dict(videos=['a'], sizes=[1], columns=[[0.0, 1.0]]), 'column 0'),
    (dict(videos=['a'], sizes=[1], columns=[np.float64(1.0)]), 'column 0'),
    (dict(videos=['a', 'a'], sizes=[1, 1], columns=[np.zeros((2, 2))]), 'unique'),
])
def test_video_columns_rejects_what_does_not_fit(bad, message):
    with pytest.raises(ValueError, match=message):
        VideoColumns(**bad)


@pytest.mark.parametrize('seed', range(6))
def test_map_of_video_columns_equals_the_map_of_the_dicts(seed):
    rng = np.random.default_rng(seed)
    preds = _predictions(rng, sizes=tuple(rng.integers(0, 30, 9)), n_cls=4)
    gt = {vid: (np.sort(rng.uniform(0, 50, (n, 2)), axis=1), rng.integers(0, 4, n))
          for vid, n in zip(list(preds)[:7], rng.integers(0, 6, 7))}
    gt['v0'] = (np.array([[1.0, 9.0]]), np.array([2]))
    want = compute_detection_map(gt, preds, 4, ANET_TIOU_THRESHOLDS)
    gt_cols, pr_cols = dm.as_video_columns(gt, 2), dm.as_video_columns(preds, 3)
    assert dm._columns_as_given(pr_cols, 3) is not None
    assert dm._columns_as_given(pr_cols, 2) is None and dm._columns_as_given(preds, 3) is None
    # float32 segments are not read as given: the checked path converts them
    f32 = VideoColumns(pr_cols.videos, pr_cols.sizes,
                       (pr_cols.columns[0].astype(np.float32),) + pr_cols.columns[1:])
    assert dm._columns_as_given(f32, 3) is None
    for g, p in ((gt_cols, pr_cols), (gt, pr_cols), (gt_cols, preds), (gt_cols, f32)):
        got = compute_detection_map(g, p, 4, ANET_TIOU_THRESHOLDS)
        if p is f32:
            exact = dm.as_video_columns({k: (v[0].astype(np.float32).astype(np.float64),)
                                         + v[1:] for k, v in preds.items()}, 3)
            want_here = compute_detection_map(gt, exact, 4, ANET_TIOU_THRESHOLDS)
        else:
            want_here = want
        assert got['ap'].tobytes() == want_here['ap'].tobytes()
        assert got['average_mAP'] == want_here['average_mAP']


def test_a_kept_detection_load_holds_a_few_containers_not_one_per_video(tmp_path):
    from mmloc.evaluation.metrics.detection_metric import load_detection_files
    rng = np.random.default_rng(3)
    names = ['a', 'b', 'c']
    gt = {f'v{i}': {'duration_second': 100.0, 'subset': 'validation', 'annotations': [
        {'segment': [float(s), float(s) + 5.0], 'label': names[(i + j) % 3]}
        for j, s in enumerate(rng.uniform(0, 90, 2))]} for i in range(400)}
    results = {vid: [{'segment': [1.0, 4.0 + j], 'score': 0.5, 'label': names[j % 3]}
                     for j in range(3)] for vid in gt}
    gt_path, pred_path = tmp_path / 'gt.json', tmp_path / 'pred.json'
    gt_path.write_text(json.dumps({'database': gt}))
    pred_path.write_text(json.dumps({'results': results}))
    load_detection_files(str(pred_path), str(gt_path))   # imports, caches
    enabled = gc.isenabled()
    gc.disable()
    try:
        before = len(gc.get_objects())
        kept = load_detection_files(str(pred_path), str(gt_path))
        grown = len(gc.get_objects()) - before
    finally:
        if enabled:
            gc.enable()
    assert grown < 40, grown   # one tuple per video would be 800
    gt_arr, pr_arr, classes = kept
    assert isinstance(gt_arr, VideoColumns) and isinstance(pr_arr, VideoColumns)
    assert len(gt_arr) == len(pr_arr) == 400 and classes == names
