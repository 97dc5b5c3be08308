"""``tools/analysis/diagnose.py`` on the real THUMOS14 / ActivityNet annotations with seeded,
jittered ground truth as detections (skipped without ../shared/data)."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from diagnosis_fixtures import jittered_detections

from mmloc.evaluation.diagnosis import BUCKETS, instance_characteristics
from mmloc.evaluation.formats import class_names_from_gt, read_ground_truth, write_results
from mmloc.evaluation.metrics.detection_metric import detection_map_from_files

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'tools' / 'analysis'))
import diagnose as diagnose_tool  # noqa: E402


def _thumos_annotation(shared_data, tmp_path, drop=()):
    """RTD's THUMOS14 file (names in "class", durations) in the official layout."""
    src = json.loads((shared_data / 'thumos14/rtd/thumos14_anno_action.json').read_text())
    db = {vid: dict(subset=rec['subset'], duration=rec['duration_second'],
                    annotations=[dict(segment=a['segment'], label=a['class'])
                                 for a in rec['annotations'] if a['class'] not in drop])
          for vid, rec in src.items()}
    path = tmp_path / f'thumos14_official_layout{len(drop)}.json'
    path.write_text(json.dumps(dict(version='THUMOS14', taxonomy=[], database=db)))
    return path


def _run(ann, subset, protocol, tmp_path, ignore=('Ambiguous',)):
    gt = read_ground_truth(ann, subset=subset)
    names = [c for c in class_names_from_gt(gt) if c not in ignore]
    res_file = tmp_path / 'jittered_results.json'
    dets = jittered_detections(gt, names, seed=0)
    # videos without any detection are left out: detection_map_from_files (used as the
    # cross-check) fails on an empty item list, our reader does not
    write_results(res_file, {v: d for v, d in dets.items() if len(d['scores'])})
    out_dir = tmp_path / 'diag'
    result = diagnose_tool.main([str(res_file), '--ann', str(ann), '--subset', subset,
                                 '--protocol', protocol, '--out-dir', str(out_dir)])
    return gt, res_file, out_dir, result


def _no_nan(text):
    def bad(x):
        raise AssertionError(f'non-JSON constant {x} in diagnosis.json')
    return json.loads(text, parse_constant=bad)


def _check_summary(s, n_gt, class_agnostic):
    fp = s['false_positive']
    assert s['num_gt'] == n_gt
    assert s['class_agnostic'] is class_agnostic
    prof = np.array([[np.nan if v is None else v for v in row] for row in fp['profile']])
    filled = np.array(fp['group_sizes']) > 0
    np.testing.assert_allclose(prof[filled].sum(axis=1), 1.0, atol=1e-9)
    assert np.isnan(prof[~filled]).all()
    if class_agnostic:
        assert fp['categories'] == ['true_positive', 'double_detection', 'localization',
                                    'background']
    # jittered GT ranks first: true positives dominate the first G predictions
    assert prof[0, 0] > 0.5 and prof[0, 0] > np.nanmax(prof[1:, 0])
    assert all(g >= -1e-12 for g in fp['average_mAP_N_gain'].values())
    for name, info in s['sensitivity'].items():
        assert sum(info['num_gt']) + info['no_bucket'] == n_gt
        fn = s['false_negative'][name]
        w = np.array(info['num_gt'], float)
        rates = np.array([0 if r is None else r for r in fn['rate']])
        # the overall FN rate is the GT-weighted mean of the bucket rates
        if info['no_bucket'] == 0:
            assert (w * rates).sum() / w.sum() == pytest.approx(s['false_negative']['overall'])
    # 15% of GT get no detection of their class; duplicates rescue some
    assert 0.05 < s['false_negative']['overall'] < 0.35


def test_tool_on_thumos14(shared_data, tmp_path):
    ann = _thumos_annotation(shared_data, tmp_path)
    gt, res_file, out_dir, result = _run(ann, 'test', 'thumos14', tmp_path)
    n_gt = sum(lab != 'Ambiguous' for r in gt.values() for lab in r['labels'])
    assert n_gt == 3358                       # 3457 rows minus 99 Ambiguous (README)
    saved = _no_nan((out_dir / 'diagnosis.json').read_text())
    assert saved['detection']['tiou_thresholds'] == [0.5]    # DETAD's THUMOS14 analysis
    assert len(saved['classes']) == 20
    for key, cag in (('detection', False), ('class_agnostic', True)):
        assert result[key]['excluded_gt'] == {'non_positive_length': 0, 'coverage_above_1': 0}
        _check_summary(saved[key], n_gt, cag)
        assert saved[key]['sensitivity']['coverage']['no_bucket'] == 0
    # the plain mAP is the project's official mAP of the same detections (no GT was dropped
    # but Ambiguous, which the official file reader keeps: give it a file without it)
    no_amb = _thumos_annotation(shared_data, tmp_path, drop=('Ambiguous',))
    ref = detection_map_from_files(res_file, no_amb, subset='test', tiou_thresholds=[0.5])
    assert saved['detection']['average_mAP'] == pytest.approx(ref['average_mAP'], abs=1e-12)
    assert saved['detection']['average_mAP'] > 0.5
    for prefix in ('', 'proposal_'):
        for fig in ('false_positive', 'sensitivity', 'false_negative'):
            png = out_dir / f'{prefix}{fig}_analysis.png'
            assert png.stat().st_size > 20_000
            import matplotlib.image as mpimg
            h, w = mpimg.imread(png).shape[:2]
            assert w > 1000 and h > 400


def test_characteristics_match_detad_annotations(shared_data):
    """DETAD ships length and #instances for THUMOS14 test: ours from the segments agree."""
    d = json.loads((shared_data / 'thumos14/detad/thumos14_test_extra_characteristics.json')
                   .read_text())['database']
    segs, vids, length, count = [], [], [], []
    for i, rec in enumerate(d.values()):
        for a in rec['annotations']:
            segs.append(a['segment'])
            vids.append(i)
            length.append(a['length'])
            count.append(a['num-instances'])
    ch = instance_characteristics(np.array(segs), np.array(vids), np.full(len(segs), np.nan))
    assert len(segs) == 3358
    np.testing.assert_allclose(ch['length'], length, atol=1e-9)
    assert ch['num_instances'].tolist() == count
    edges = BUCKETS['thumos14']['num_instances'][0]
    assert edges.tolist() == [-1, 1, 40, 80, np.inf]


@pytest.mark.slow
def test_tool_on_activitynet_validation(shared_data, tmp_path):
    ann = shared_data / 'activitynet/derived/activity_net.v1-3.bsn19228.json'
    gt, res_file, out_dir, result = _run(ann, 'validation', 'anet', tmp_path)
    saved = _no_nan((out_dir / 'diagnosis.json').read_text())
    n_all = sum(len(r['labels']) for r in gt.values())
    excluded = result['detection']['excluded_gt']
    assert excluded['non_positive_length'] == 3      # three zero-length segments in the file
    assert len(saved['classes']) == 200
    for key, cag in (('detection', False), ('class_agnostic', True)):
        _check_summary(saved[key], n_all - sum(excluded.values()), cag)
    assert len(saved['detection']['tiou_thresholds']) == 10


def test_tool_on_detad_own_ground_truth_file(shared_data, tmp_path, recwarn):
    """DETAD's THUMOS14 GT as it ships it (characteristics per instance, no video duration):
    every instance gets its buckets from the file, and no characteristic is reported missing."""
    ann = shared_data / 'thumos14/detad/thumos14_test_extra_characteristics.json'
    gt = read_ground_truth(ann, subset='testing')
    assert all(r['duration'] is None for r in gt.values())
    names = class_names_from_gt(gt)
    res_file = tmp_path / 'jittered_results.json'
    write_results(res_file, {v: d for v, d in jittered_detections(gt, names, seed=0).items()
                             if len(d['scores'])})
    result = diagnose_tool.main([str(res_file), '--ann', str(ann), '--subset', 'testing',
                                 '--protocol', 'thumos14', '--out-dir', str(tmp_path / 'd')])
    assert not [w for w in recwarn if 'bucket' in str(w.message)]
    raw = json.loads(ann.read_text())['database']
    given = [a['coverage'] for r in raw.values() for a in r['annotations']]
    edges = BUCKETS['thumos14']['coverage'][0]
    expected = np.histogram(given, edges)[0]     # no coverage lies exactly on an inner edge
    assert not np.isin(given, edges[1:-1]).any()
    for key in ('detection', 'class_agnostic'):
        sens = result[key]['sensitivity']
        for name in ('coverage', 'length', 'num_instances'):
            assert sens[name]['no_bucket'] == 0, (key, name)
            assert all(v is not None and np.isfinite(v) for v in sens[name]['average_mAP_N'])
        assert sens['coverage']['num_gt'] == expected.tolist()
    assert result['detection']['false_negative']['min_normalized_precision'] == 0.05


def test_unknown_coverage_is_warned_once_naming_the_field(shared_data, tmp_path):
    """Without per-instance coverage and without durations, one warning names both fields."""
    src = json.loads((shared_data / 'thumos14/detad/thumos14_test_extra_characteristics.json')
                     .read_text())
    for rec in src['database'].values():
        for a in rec['annotations']:
            del a['coverage']
    ann = tmp_path / 'no_coverage.json'
    ann.write_text(json.dumps(src))
    gt = read_ground_truth(ann, subset='testing')
    res_file = tmp_path / 'jittered_results.json'
    write_results(res_file, {v: d for v, d in jittered_detections(
        gt, class_names_from_gt(gt), seed=1).items() if len(d['scores'])})
    with pytest.warns(UserWarning) as caught:
        result = diagnose_tool.main([str(res_file), '--ann', str(ann), '--subset', 'testing',
                                     '--protocol', 'thumos14', '--out-dir', str(tmp_path / 'd')])
    msgs = [str(w.message) for w in caught if 'bucket' in str(w.message)]
    assert len(msgs) == 1
    assert '3358 of 3358' in msgs[0] and '"coverage"' in msgs[0] and '"duration"' in msgs[0]
    sens = result['detection']['sensitivity']
    assert sens['coverage']['no_bucket'] == 3358
    assert sens['length']['no_bucket'] == 0 and sens['num_instances']['no_bucket'] == 0


def test_fn_min_precision_defaults_to_detad():
    assert diagnose_tool.parse_args(['r.json', '--ann', 'a.json', '--out-dir', 'o']
                                    ).fn_min_precision == 0.05
    import inspect

    from mmloc.evaluation.diagnosis import diagnose
    assert inspect.signature(diagnose).parameters['fn_min_precision'].default == 0.05
