"""ANet external classifier fusion (actionformer-spec §6.5): ``tools/analysis/report_map.py``
and the config's built-in ``DetectionMetric(classifier_fusion=...)`` agree.

The CUHK file holds plain score lists, so its class ``c`` is the GT's ``label_id`` ``c``. The
case is built so that the GT's first-appearance class order (``b, c, a``) differs from its
``label_id`` order (``a`` = 0, ``b`` = 1, ``c`` = 2): reading the classifier index in the
wrong order labels the detections with the wrong classes.
"""
import json
import sys

import numpy as np
import pytest

sys.path.insert(0, __file__.rsplit('/tests/', 1)[0] + '/tools/analysis')

GT = {'database': {
    'va': dict(subset='validation', duration=10.0, annotations=[
        dict(segment=[1.0, 3.0], label='b', label_id=1)]),
    'vb': dict(subset='validation', duration=10.0, annotations=[
        dict(segment=[7.0, 9.5], label='c', label_id=2), dict(segment=[4.0, 6.0], label='a',
                                                              label_id=0)]),
    'vt': dict(subset='training', duration=10.0, annotations=[
        dict(segment=[0.0, 2.0], label='b', label_id=1)])}}
CLASSES = ['a', 'b', 'c']                       # label_id order (FeatureDataset's classes)
CLASSIFIER = {'results': {'va': [0.1, 0.8, 0.1], 'vb': [0.7, 0.1, 0.6]}}
PROPOSALS = {'va': [([1.0, 3.0], 0.9), ([5.0, 8.0], 0.3)],
             'vb': [([4.0, 6.0], 0.8), ([7.2, 9.4], 0.6), ([0.5, 1.5], 0.2)]}
THRESHOLDS = [round(0.5 + 0.05 * i, 2) for i in range(10)]   # report_map's ANet protocol


def _files(tmp_path):
    paths = {k: tmp_path / f'{k}.json' for k in ('gt', 'cls', 'proposals')}
    paths['gt'].write_text(json.dumps(GT))
    paths['cls'].write_text(json.dumps(CLASSIFIER))
    paths['proposals'].write_text(json.dumps({'results': {
        vid: [dict(segment=s, score=sc) for s, sc in items]
        for vid, items in PROPOSALS.items()}}))
    return paths


def _metric_path(paths) -> dict:
    from mmloc.evaluation.metrics.detection_metric import DetectionMetric
    metric = DetectionMetric(tiou_thresholds=THRESHOLDS,
                             classifier_fusion=dict(file=str(paths['cls'])))
    metric.dataset_meta = dict(classes=CLASSES)
    for vid, items in PROPOSALS.items():
        anns = [dict(segment=a['segment'], label=a['label'])
                for a in GT['database'][vid]['annotations']]
        metric.process(None, [dict(video_name=vid, annotations=anns, pred_instances=dict(
            segments=np.array([s for s, _ in items]), scores=np.array([sc for _, sc in items]),
            labels=np.zeros(len(items), np.int64)))])
    return metric.compute_metrics(metric.results)


def test_report_map_and_config_fusion_agree(tmp_path):
    import report_map
    paths = _files(tmp_path)
    offline = report_map.main([
        '--proposal', str(paths['proposals']), '--gt', str(paths['gt']), '--cls-results',
        str(paths['cls']), '--top-k-classes', '2', '--score-fusion', 'sqrt', '--num-pred', '200',
        '--det-output', str(tmp_path / 'det.json')])
    online = _metric_path(paths)
    assert set(online) == set(offline)
    for k in online:
        assert offline[k] == pytest.approx(online[k], abs=1e-12), k
    # the right labels: at 0.5 only vb's [7.2, 9.4] (best for 'a', not 'c') costs AP
    assert online['mAP@0.50'] > 0.8
    dets = json.loads((tmp_path / 'det.json').read_text())['results']
    best = {vid: max(items, key=lambda d: d['score']) for vid, items in dets.items()}
    assert best['va']['label'] == 'b' and best['vb']['label'] == 'a'
    assert best['va']['score'] == pytest.approx(np.sqrt(0.9 * 0.8))
