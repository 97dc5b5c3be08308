import json

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmloc.evaluation.metrics import DetectionMetric
from mmloc.registry import METRICS
from mmloc.structures import LocalizationDataSample
from loop_reference import loop_detection_map

CLASSES = ['jump', 'run', 'swim']


def _samples(seed=0, n=8):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        g = int(rng.integers(1, 4))
        gt = np.sort(rng.uniform(0, 60, (g, 2)), 1)
        glab = rng.integers(0, 3, g)
        p = int(rng.integers(3, 12))
        segs = np.sort(rng.uniform(0, 60, (p, 2)), 1)
        k = min(g, p)
        segs[:k] = gt[:k] + rng.normal(0, 2, (k, 2))
        labs = rng.integers(0, 3, p)
        labs[:k] = glab[:k]
        ds = LocalizationDataSample(metainfo=dict(
            video_name=f'v_{i}', annotations=[{'segment': s.tolist(), 'label': CLASSES[c]}
                                              for s, c in zip(gt, glab)]))
        ds.pred_instances = InstanceData(segments=torch.tensor(segs),
                                         scores=torch.tensor(rng.random(p)),
                                         labels=torch.tensor(labs))
        out.append(ds)
    return out


@pytest.mark.parametrize('protocol', ['anet', 'thumos14'])
def test_detection_metric_matches_loop(tmp_path, protocol):
    samples = _samples()
    metric = METRICS.build(dict(type='DetectionMetric', protocol=protocol, classes=CLASSES,
                                out_file=str(tmp_path / 'det.json')))
    metric.process(None, [s.to_dict() for s in samples])
    res = metric.evaluate(len(samples))
    thr = metric.tiou_thresholds
    gt = {s.video_name: (np.array([a['segment'] for a in s.annotations]),
                         np.array([CLASSES.index(a['label']) for a in s.annotations]))
          for s in samples}
    preds = {s.video_name: (s.pred_instances.segments.numpy(), s.pred_instances.scores.numpy(),
                            s.pred_instances.labels.numpy()) for s in samples}
    _, ref_map, ref_avg = loop_detection_map(gt, preds, 3, thr)
    keys = [f'mAP@{t:.2f}' for t in thr]
    assert list(res) == keys + ['average_mAP']
    np.testing.assert_allclose([res[k] for k in keys], ref_map, atol=1e-9)
    assert res['average_mAP'] == pytest.approx(ref_avg, abs=1e-9)
    if protocol == 'thumos14':
        assert keys == ['mAP@0.30', 'mAP@0.40', 'mAP@0.50', 'mAP@0.60', 'mAP@0.70']
    item = json.loads((tmp_path / 'det.json').read_text())['results']['0'][0]
    assert item['label'] in CLASSES and set(item) == {'score', 'segment', 'label'}


def test_detection_metric_needs_class_names():
    samples = _samples(n=2)
    metric = DetectionMetric()
    metric.process(None, [s.to_dict() for s in samples])
    with pytest.raises(ValueError, match='classes'):
        metric.compute_metrics(metric.results)
    metric = DetectionMetric(classes=['jump'])
    metric.process(None, [s.to_dict() for s in samples])
    with pytest.raises(KeyError, match="unknown class name"):
        metric.compute_metrics(metric.results)
    with pytest.raises(ValueError, match='protocol'):
        DetectionMetric(protocol='voc')


def test_files_with_an_empty_video_list(tmp_path):
    """A results video with no detections counts as no detection (was a TypeError)."""
    import json

    from mmloc.evaluation.metrics.detection_metric import detection_map_from_files
    rec = dict(duration_second=10, duration_frame=100, feature_frame=100)
    gt = {'v_a': dict(rec, annotations=[{'segment': [1, 3], 'label': 'x'}]),
          'v_b': dict(rec, annotations=[{'segment': [2, 5], 'label': 'x'}])}
    res = {'results': {'a': [{'segment': [1, 3], 'score': 0.9, 'label': 'x'}], 'b': []}}
    (tmp_path / 'gt.json').write_text(json.dumps(gt))
    (tmp_path / 'res.json').write_text(json.dumps(res))
    out = detection_map_from_files(str(tmp_path / 'res.json'), str(tmp_path / 'gt.json'))
    # one of two GT found with precision 1 -> AP 0.5 at every threshold
    assert out['average_mAP'] == pytest.approx(0.5)


def test_average_over_a_subset_of_thresholds():
    from mmloc.evaluation.metrics.detection_metric import map_metrics
    thr = np.round(np.arange(0.1, 0.75, 0.1), 2)
    result = dict(mAP=np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3]), average_mAP=0.6)
    assert map_metrics(result, thr)['average_mAP'] == pytest.approx(0.6)
    # THUMOS14 convention: mean of 0.3..0.7 = (0.7 + 0.6 + 0.5 + 0.4 + 0.3) / 5
    assert map_metrics(result, thr, [0.3, 0.4, 0.5, 0.6, 0.7])['average_mAP'] == pytest.approx(0.5)
    with pytest.raises(ValueError, match='0.95'):
        map_metrics(result, thr, [0.95])


def test_all_label_indices_equal_the_per_video_lookup():
    from mmloc.evaluation.metrics.detection_metric import (_all_label_indices,
                                                           _checked_label_indices)
    classes = ['a', 'b', 'c']
    index = {c: i for i, c in enumerate(classes)}
    lists = [['a', 'c'], None, [], ['b', 'b', 'a'], [2, 'a']]
    vids = [f'v{i}' for i in range(len(lists))]
    wheres = [f'r.json: video {v}' for v in vids]
    got = _all_label_indices(lists, classes, index, 'r.json', vids)
    ref = [_checked_label_indices(lab or [], classes, index, w) for lab, w in zip(lists, wheres)]
    assert [g.tolist() for g in got] == [r.tolist() for r in ref]
    assert all(g.dtype == np.int64 for g in got)
    assert [g.tolist() for g in _all_label_indices(lists[:4], classes, index, 'r.json', vids[:4])] == \
        [r.tolist() for r in ref[:4]]
    with pytest.raises(KeyError) as fast:
        _all_label_indices([['a'], ['zz']], classes, index, 'r.json', vids[:2])
    with pytest.raises(KeyError) as slow:
        _checked_label_indices(['zz'], classes, index, wheres[1])
    assert str(fast.value) == str(slow.value) and 'video v1' in str(fast.value)
