import json

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmloc.evaluation.functional import average_recall_at_avg_proposals
from mmloc.evaluation.metrics import ANetMetric
from mmloc.registry import METRICS
from mmloc.structures import LocalizationDataSample
from loop_reference import loop_ar_an


def _samples(seed=0, n=6):
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(n):
        g = int(rng.integers(1, 4))
        gt = np.sort(rng.uniform(0, 50, size=(g, 2)), axis=1)
        p = int(rng.integers(5, 30))
        segs = np.sort(rng.uniform(0, 50, size=(p, 2)), axis=1)
        segs[: g] = gt + rng.normal(0, 1.0, size=gt.shape)  # some good proposals
        scores = rng.random(p)
        order = np.argsort(-scores)
        ds = LocalizationDataSample(metainfo=dict(
            video_name=f'v_video{i}', duration_second=50.0,
            annotations=[{'segment': list(map(float, s)), 'label': 'x'} for s in gt]))
        ds.pred_instances = InstanceData(segments=torch.tensor(segs[order]),
                                         scores=torch.tensor(scores[order]))
        samples.append(ds)
    return samples


def _reference(samples):
    gt = {s.video_name[2:]: np.array([a['segment'] for a in s.annotations]) for s in samples}
    props = {s.video_name[2:]: np.concatenate([s.pred_instances.segments.numpy(),
                                               s.pred_instances.scores.numpy()[:, None]], 1)
             for s in samples}
    return gt, props


def test_metric_matches_loop_reference_and_writes_results(tmp_path):
    samples = _samples()
    out = tmp_path / 'sub' / 'results.json'
    metric = METRICS.build(dict(type='ANetMetric', metric_type='AR@AN', out_file=str(out)))
    metric.process(None, [s.to_dict() for s in samples[:4]])
    metric.process(None, [s.to_dict() for s in samples[4:]])
    res = metric.evaluate(len(samples))
    gt, props = _reference(samples)
    recall, avg, ppv, auc = loop_ar_an(gt, props, 100)
    assert set(res) == {'auc', 'AR@1', 'AR@5', 'AR@10', 'AR@100'}
    assert res['auc'] == pytest.approx(auc, abs=1e-9)
    for key, col in [('AR@1', 0), ('AR@5', 4), ('AR@10', 9), ('AR@100', 99)]:
        assert res[key] == pytest.approx(recall[:, col].mean(), abs=1e-9)
    data = json.loads(out.read_text())
    assert set(data) == {'version', 'results', 'external_data'}
    assert list(data['results']) == [f'video{i}' for i in range(len(samples))]
    item = data['results']['video0'][0]
    assert list(item) == ['score', 'segment']
    first = samples[0].pred_instances
    assert item['score'] == pytest.approx(float(first.scores[0]))
    assert item['segment'] == pytest.approx(first.segments[0].tolist())


def test_gt_travels_with_results_and_duplicates_count_once():
    samples = _samples(seed=3)
    # what collect_results would give from two ranks, with the sampler's padding repeat
    rank0 = ANetMetric()
    rank0.process(None, [s.to_dict() for s in samples[0::2]])
    rank1 = ANetMetric()
    rank1.process(None, [s.to_dict() for s in samples[1::2]] + [samples[0].to_dict()])
    gathered = rank0.results + rank1.results
    res = ANetMetric().compute_metrics(gathered)
    gt, props = _reference(samples)
    ref = average_recall_at_avg_proposals(gt, props)
    assert res['auc'] == pytest.approx(ref['auc'], abs=1e-12)
    assert res['AR@100'] == pytest.approx(ref['AR@100'], abs=1e-12)


def test_metric_options_and_errors():
    m = ANetMetric(metric_options={'AR@AN': dict(max_avg_proposals=10,
                                                 temporal_iou_thresholds=[0.5])})
    assert m.max_avg_proposals == 10 and m.temporal_iou_thresholds.tolist() == [0.5]
    with pytest.raises(ValueError, match='unknown metric_options'):
        ANetMetric(metric_options={'AR@AN': dict(max_avg=10)})
    with pytest.raises(ValueError, match='metric_type'):
        ANetMetric(metric_type='TEM')
    ds = LocalizationDataSample(metainfo=dict(video_name='v_a'))
    ds.pred_instances = InstanceData(segments=torch.zeros(1, 2), scores=torch.zeros(1))
    with pytest.raises(KeyError, match='v_a.*annotations'):
        ANetMetric().process(None, [ds.to_dict()])


def test_results_file_with_a_repeated_video_or_bad_bytes(tmp_path):
    from mmloc.evaluation.formats import FormatError, read_results
    path = tmp_path / 'res.json'
    path.write_text('{"results": {"a": [{"segment": [1, 2], "score": 1}], '
                    '"a": [{"segment": [3, 4], "score": 1}]}}')
    with pytest.raises(FormatError, match=r"res\.json: duplicate key\(s\) \['a'\]"):
        read_results(str(path))
    path.write_bytes(b'{"results": {"\xff": []}}')
    with pytest.raises(FormatError, match=r'res\.json: not UTF-8'):
        read_results(str(path))
