"""Hostile and broken input: a clear error naming file, video and field, or a documented
clip-and-warn; never a silent wrong result.

Already covered elsewhere (not repeated here): NaN features, wrong feature rows/columns,
missing feature files, zero-length (warn) and negative (error) segments, truncated and
non-UTF-8 JSON, an empty split (tests/datasets/test_activitynet_dataset.py); a checkpoint
of another model given to tools/test.py (tests/tools/test_bmn_train_test.py); pickled
code in a checkpoint (tests/engine/test_checkpoint.py).
"""
import json
import warnings

import numpy as np
import pytest

from mmloc.datasets import ActivityNetDataset
from mmloc.datasets.activitynet_dataset import load_annotation_json
from mmloc.datasets.transforms import LoadLocalizationFeature
from mmloc.evaluation.metrics.anet_metric import ANetMetric
from mmloc.utils.validation import FormatError


def _record(segments, duration=10.0):
    return dict(duration_second=duration, duration_frame=300, feature_frame=288,
                annotations=[{'segment': list(s), 'label': 'a'} for s in segments])


def _dataset(ann, pipeline=()):
    return ActivityNetDataset(ann_file=str(ann), pipeline=list(pipeline), check_files=False)


@pytest.mark.parametrize('bad', [np.inf, -np.inf])
@pytest.mark.parametrize('ext', ['.csv', '.npy'])
def test_infinite_feature_value_is_named(tmp_path, bad, ext):
    arr = np.zeros((5, 3), np.float32)
    arr[4, 1] = bad
    path = tmp_path / f'v_inf{ext}'
    if ext == '.npy':
        np.save(path, arr)
    else:
        np.savetxt(path, arr, delimiter=',', header='a,b,c', comments='')
    with pytest.raises(ValueError, match=rf'v_inf\{ext}: video v_inf: .*NaN/Inf.*row 4, column 1'):
        LoadLocalizationFeature()(dict(feature_path=str(path), video_name='v_inf'))


def test_duplicate_video_id_is_an_error(tmp_path):
    ann = tmp_path / 'dup.json'
    # json.loads would keep only the second record and silently lose [1, 2]
    ann.write_text('{"v_a": %s, "v_b": %s, "v_a": %s}' % (
        json.dumps(_record([[1, 2]])), json.dumps(_record([])), json.dumps(_record([[3, 4]]))))
    assert list(json.loads(ann.read_text())) == ['v_a', 'v_b']
    with pytest.raises(ValueError, match=r"dup\.json: duplicate video id\(s\) \['v_a'\]"):
        _dataset(ann)


def test_duplicate_field_in_a_record_is_an_error(tmp_path):
    ann = tmp_path / 'dupfield.json'
    ann.write_text('{"v_a": {"duration_second": 10, "duration_frame": 300, "feature_frame": 288,'
                   ' "annotations": [], "duration_second": 20}}')
    with pytest.raises(ValueError, match=r"dupfield\.json: duplicate key\(s\) \['duration_second'\]"):
        load_annotation_json(str(ann))


def test_same_id_in_different_records_is_fine(tmp_path):
    # "label" repeats across annotations but never inside one object
    ann = tmp_path / 'ok.json'
    ann.write_text(json.dumps({'v_a': _record([[1, 2], [3, 4]]), 'v_b': _record([[1, 2]])}))
    assert len(_dataset(ann)) == 2


def test_segments_beyond_duration_clip_and_warn_once(tmp_path):
    """Documented behaviour: one warning per file naming video, field and duration; training
    labels clipped to [0, 1]; evaluation keeps the annotated seconds (official evaluator)."""
    ann = tmp_path / 'beyond.json'
    ann.write_text(json.dumps({
        'v_in': _record([[1, 2]]),
        'v_out': _record([[8.0, 12.0], [-1.0, 3.0]]),
        'v_far': _record([[11.0, 13.0]]),
    }))
    pipeline = [dict(type='GenerateLocalizationLabels')]
    with pytest.warns(UserWarning) as record:
        ds = _dataset(ann, pipeline)
    messages = [str(w.message) for w in record if 'outside' in str(w.message)]
    assert len(messages) == 1
    msg = messages[0]
    assert 'beyond.json: 3 segment(s)' in msg
    assert 'video v_out annotations[0].segment: [8.0, 12.0] vs duration_second 10.0' in msg
    assert 'video v_out annotations[1].segment: [-1.0, 3.0]' in msg
    assert 'v_far' in msg and 'v_in' not in msg
    out = ds[1]
    assert out['annotations'][0]['segment'] == [8.0, 12.0]  # evaluation: as annotated
    cs = 288 / 300 * 10.0  # corrected_second
    np.testing.assert_allclose(out['gt_segments'], [[8.0 / cs, 1.0], [0.0, 3.0 / cs]])
    np.testing.assert_allclose(ds[2]['gt_segments'], [[1.0, 1.0]])


def test_segments_inside_duration_do_not_warn(tmp_path):
    ann = tmp_path / 'fine.json'
    ann.write_text(json.dumps({'v_a': _record([[0.0, 10.0], [2, 3]])}))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        _dataset(ann)


def test_metric_refuses_a_sample_without_ground_truth():
    """Missing annotations must stop the metric, not count the video as recall 0 or skip it."""
    metric = ANetMetric()
    sample = dict(video_name='v_x', pred_instances=dict(segments=np.zeros((1, 2)),
                                                        scores=np.ones(1)))
    with pytest.raises(KeyError, match='v_x.*annotations'):
        metric.process({}, [sample])


def test_gt_duration_null_is_unknown_negative_is_an_error(tmp_path):
    """Official layout with ``"duration": null`` (ActivityNet validation videos BSN lacks): the
    video is read with an unknown duration, no outside-duration warning; a negative one is an
    error naming file, video and field."""
    from mmloc.evaluation.formats import read_ground_truth
    seg = {'segment': [5.0, 500.0], 'label': 'a'}
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps({'database': {'x': {'subset': 'validation', 'duration': None,
                                                   'annotations': [seg]}}}))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        gt = read_ground_truth(path, subset='validation')
    assert gt['x']['duration'] is None
    np.testing.assert_array_equal(gt['x']['segments'], [[5.0, 500.0]])
    path.write_text(json.dumps({'database': {'x': {'subset': 'validation', 'duration': -3,
                                                   'annotations': [seg]}}}))
    with pytest.raises(FormatError, match=r'gt\.json.*x.*"duration"'):
        read_ground_truth(path, subset='validation')
