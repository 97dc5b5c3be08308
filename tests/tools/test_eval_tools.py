import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmloc.evaluation.formats import write_results

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tests' / 'evaluation'))
from loop_reference import loop_ar_an  # noqa: E402


def _load_tool(rel):
    spec = importlib.util.spec_from_file_location(Path(rel).stem, REPO / rel)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


eval_metric = _load_tool('tools/analysis/eval_metric.py')


def _mmaction_ann(rng, n=5):
    ann = {}
    for i in range(n):
        dur = float(rng.uniform(20, 100))
        g = int(rng.integers(1, 4))
        segs = np.sort(rng.uniform(0, dur, size=(g, 2)), axis=1)
        ann[f'v_vid{i:02d}'] = dict(
            duration_second=dur, duration_frame=int(dur * 30), feature_frame=int(dur * 30),
            annotations=[{'segment': s.tolist(), 'label': ['a', 'b'][k % 2]}
                         for k, s in enumerate(segs)])
    return ann


def _jittered_results(ann, rng, with_v=False):
    res = {}
    for name, rec in ann.items():
        vid = name if with_v else name[2:]
        gt = np.array([a['segment'] for a in rec['annotations']])
        segs = np.concatenate([np.sort(gt + rng.normal(0, 2, gt.shape), 1),
                               np.sort(rng.uniform(0, rec['duration_second'], (20, 2)), 1)])
        res[vid] = dict(segments=segs, scores=rng.random(len(segs)))
    return res


@pytest.mark.parametrize('with_v', [False, True])
def test_eval_metric_ar_an_matches_loop(tmp_path, with_v, capsys):
    rng = np.random.default_rng(7)
    ann = _mmaction_ann(rng)
    (tmp_path / 'ann.json').write_text(json.dumps(ann))
    res = _jittered_results(ann, rng, with_v)
    write_results(tmp_path / 'results.json', res)
    metrics = eval_metric.main([str(tmp_path / 'results.json'), '--ann',
                                str(tmp_path / 'ann.json'), '--eval', 'AR@AN'])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last) == pytest.approx(dict(metrics))
    gt = {k[2:]: np.array([a['segment'] for a in v['annotations']]) for k, v in ann.items()}
    props = {(k[2:] if with_v else k): np.concatenate([v['segments'], v['scores'][:, None]], 1)
             for k, v in res.items()}
    recall, _, _, auc = loop_ar_an(gt, props, 100)
    assert metrics['auc'] == pytest.approx(auc, abs=1e-9)
    assert metrics['AR@100'] == pytest.approx(recall[:, 99].mean(), abs=1e-9)


def test_eval_metric_cli_last_line_is_json(tmp_path):
    rng = np.random.default_rng(1)
    ann = _mmaction_ann(rng, 3)
    (tmp_path / 'ann.json').write_text(json.dumps(ann))
    write_results(tmp_path / 'r.json', _jittered_results(ann, rng))
    out = subprocess.run([sys.executable, str(REPO / 'tools/analysis/eval_metric.py'),
                          str(tmp_path / 'r.json'), '--ann', str(tmp_path / 'ann.json'),
                          '--eval', 'AR@AN'], capture_output=True, text=True, check=True)
    last = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(last) == {'auc', 'AR@1', 'AR@5', 'AR@10', 'AR@100'}


def test_eval_metric_errors(tmp_path):
    ann, res = tmp_path / 'ann.json', tmp_path / 'r.json'
    argv = [str(res), '--ann', str(ann), '--eval', 'AR@AN']
    ann.write_text(json.dumps({'v_a': {'duration_second': 3.0,
                                       'annotations': [{'segment': [0, 1], 'label': 'x'}]}}))
    res.write_text(json.dumps({'results': {}}))
    with pytest.raises(ValueError, match=r'r\.json: "results" is empty'):
        eval_metric.main(argv)
    res.write_text(json.dumps({'results': {'a': [{'segment': [0, 1]}]}}))
    with pytest.raises(ValueError, match=r'video a: item 0 needs "segment" and "score"'):
        eval_metric.main(argv)
    res.write_text(json.dumps({'results': {'zzz': [{'segment': [0, 1], 'score': 1}]}}))
    with pytest.raises(ValueError, match='no proposal was retrieved'):
        eval_metric.main(argv)
    ann.write_text(json.dumps({'v_a': {'duration_second': 3.0}}))
    with pytest.raises(ValueError, match=r'ann\.json: video v_a: missing field "annotations"'):
        eval_metric.main(argv)


def test_eval_metric_map_matches_loop(tmp_path, capsys):
    from loop_reference import loop_detection_map
    rng = np.random.default_rng(3)
    ann = _mmaction_ann(rng, 6)
    (tmp_path / 'ann.json').write_text(json.dumps(ann))
    res = _jittered_results(ann, rng)
    for vid, rec in res.items():
        rec['labels'] = list(rng.choice(['a', 'b'], len(rec['scores'])))
    write_results(tmp_path / 'det.json', res)
    for protocol, thr in [('anet', np.linspace(0.5, 0.95, 10)),
                          ('thumos14', [0.3, 0.4, 0.5, 0.6, 0.7])]:
        metrics = eval_metric.main([str(tmp_path / 'det.json'), '--ann', str(tmp_path / 'ann.json'),
                                    '--eval', 'mAP', '--protocol', protocol])
        classes = {'a': 0, 'b': 1}  # first appearance in the GT: label k % 2
        gt = {k[2:]: (np.array([a['segment'] for a in v['annotations']]),
                      np.array([classes[a['label']] for a in v['annotations']]))
              for k, v in ann.items()}
        preds = {k: (v['segments'], v['scores'], np.array([classes[x] for x in v['labels']]))
                 for k, v in res.items()}
        _, ref_map, ref_avg = loop_detection_map(gt, preds, 2, thr)
        assert metrics['average_mAP'] == pytest.approx(ref_avg, abs=1e-9)
        assert list(metrics)[:-1] == [f'mAP@{t:.2f}' for t in thr]
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(last) == {'mAP@0.30', 'mAP@0.40', 'mAP@0.50', 'mAP@0.60', 'mAP@0.70', 'average_mAP'}
    metrics = eval_metric.main([str(tmp_path / 'det.json'), '--ann', str(tmp_path / 'ann.json'),
                                '--eval', 'mAP', '--tiou', '0.5'])
    assert list(metrics) == ['mAP@0.50', 'average_mAP']


def _real_gt(shared_data):
    from mmloc.evaluation.formats import read_blocked, read_ground_truth
    d = shared_data / 'activitynet'
    return read_ground_truth(d / 'derived' / 'activity_net.v1-3.val4926.json', subset='validation',
                             blocked=read_blocked(d / 'blocked' / 'api_action_get_blocked.json'))


def test_real_anet_perfect_submission_and_blocked(shared_data):
    """The official fake submission (= the val GT) scores 1.0 with the blocked list applied."""
    d = shared_data / 'activitynet'
    args = [str(d / 'official' / 'sample_detection_prediction.json'), '--ann',
            str(d / 'derived' / 'activity_net.v1-3.val4926.json'), '--subset', 'validation']
    blocked = ['--blocked', str(d / 'blocked' / 'api_action_get_blocked.json')]
    full = eval_metric.main(args + blocked + ['--eval', 'mAP'])
    assert full['average_mAP'] == 1.0
    # without the blocked list the GT keeps the blocked videos; with it their predictions go too
    assert len(_real_gt(shared_data)) == 4926 - 246
    ar = eval_metric.main(args + blocked + ['--eval', 'AR@AN'])
    # every GT is its own proposal except the 3 zero-length GTs (IoU 0 officially too)
    assert ar['AR@100'] == pytest.approx(1 - 3 / 7220, abs=1e-12)


@pytest.mark.slow
def test_real_anet_jittered_gt_matches_loop(shared_data, tmp_path):
    """Seeded jittered GT as proposals/detections on the real v1.3 val set, vs the loops."""
    from loop_reference import loop_ar_an, loop_detection_map
    gt = _real_gt(shared_data)
    rng = np.random.default_rng(2024)
    classes = {}
    res = {}
    for vid, rec in gt.items():
        s = rec['segments']
        length = (s[:, 1] - s[:, 0])[:, None]
        # jitter can swap the ends of a short segment; results files must not (the
        # reader refuses reversed segments), so the ends are put back in order
        segs = np.sort(np.concatenate([s + rng.normal(0, 0.05, s.shape) * length,
                                       s + rng.normal(0, 0.25, s.shape) * length]), axis=1)
        labels = rec['labels'] * 2
        res[vid] = dict(segments=segs, scores=rng.random(len(segs)), labels=labels)
        for lab in rec['labels']:
            classes.setdefault(lab, len(classes))
    write_results(tmp_path / 'det.json', res)
    ann = shared_data / 'activitynet' / 'derived' / 'activity_net.v1-3.val4926.json'
    blocked = shared_data / 'activitynet' / 'blocked' / 'api_action_get_blocked.json'
    base = [str(tmp_path / 'det.json'), '--ann', str(ann), '--blocked', str(blocked)]
    ar = eval_metric.main(base + ['--eval', 'AR@AN'])
    det = eval_metric.main(base + ['--eval', 'mAP'])
    recall, _, _, auc = loop_ar_an(
        {v: r['segments'] for v, r in gt.items()},
        {v: np.concatenate([r['segments'], r['scores'][:, None]], 1) for v, r in res.items()})
    assert ar['auc'] == pytest.approx(auc, abs=1e-9)
    assert ar['AR@100'] == pytest.approx(recall[:, 99].mean(), abs=1e-9)
    thr = np.linspace(0.5, 0.95, 10)
    _, ref_map, ref_avg = loop_detection_map(
        {v: (r['segments'], np.array([classes[x] for x in r['labels']])) for v, r in gt.items()},
        {v: (r['segments'], r['scores'], np.array([classes[x] for x in r['labels']]))
         for v, r in res.items()}, len(classes), thr)
    assert det['average_mAP'] == pytest.approx(ref_avg, abs=1e-9)
    print('real ActivityNet v1.3 val, jittered GT:', dict(ar), dict(det))


report_map = _load_tool('tools/analysis/report_map.py')
convert = _load_tool('tools/data/activitynet/convert_proposal_format.py')


def test_report_map_perfect_classifier_and_errors(tmp_path):
    rng = np.random.default_rng(11)
    ann = _mmaction_ann(rng, 4)
    for rec in ann.values():  # one class per video so a video-level classifier can be perfect
        for a in rec['annotations']:
            a['label'] = 'a' if rec['duration_second'] > 50 else 'b'
    (tmp_path / 'ann.json').write_text(json.dumps(ann))
    props = {k[2:]: dict(segments=np.array([a['segment'] for a in v['annotations']]),
                         scores=np.linspace(1, 0.5, len(v['annotations']))) for k, v in ann.items()}
    write_results(tmp_path / 'p.json', props)
    cls = {'results': {k[2:]: [{'label': 'b', 'score': 0.2},
                              {'label': v['annotations'][0]['label'], 'score': 0.7}]
                       for k, v in ann.items()}}
    (tmp_path / 'cls.json').write_text(json.dumps(cls))
    argv = ['--proposal', str(tmp_path / 'p.json'), '--gt', str(tmp_path / 'ann.json'),
            '--cls-results', str(tmp_path / 'cls.json'), '--det-output', str(tmp_path / 'd.json')]
    assert report_map.main(argv)['average_mAP'] == 1.0  # GT as proposals, perfect classifier
    det = json.loads((tmp_path / 'd.json').read_text())['results']
    assert all(it['label'] == ann['v_' + k]['annotations'][0]['label']
               for k, items in det.items() for it in items)
    props['vid00']['segments'][0, 1] = 1e4  # outside the video: clipped with a warning
    write_results(tmp_path / 'p.json', props)
    with pytest.warns(UserWarning, match='1 segments were outside'):
        report_map.main(argv)
    det = json.loads((tmp_path / 'd.json').read_text())['results']
    assert det['vid00'][0]['segment'][1] == ann['v_vid00']['duration_second']
    # top-2 classes: each proposal twice, score x class score
    with pytest.warns(UserWarning):
        report_map.main(argv + ['--top-k-classes', '2'])
    det2 = json.loads((tmp_path / 'd.json').read_text())['results']['vid01']
    assert len(det2) == 2 * len(ann['v_vid01']['annotations'])
    assert det2[0]['score'] == pytest.approx(1.0 * 0.7)
    del cls['results']['vid02']
    (tmp_path / 'cls.json').write_text(json.dumps(cls))
    with pytest.raises(KeyError, match='vid02'):
        report_map.main(argv)


def test_convert_proposal_format_round_trips(tmp_path):
    from mmloc.evaluation.formats import parse_proposal_text, read_results
    ann = {'v_x1': dict(duration_second=10.0, duration_frame=300, fps=30.0, feature_frame=288,
                        annotations=[{'segment': [1.0, 4.0], 'label': 'b'},
                                     {'segment': [6.0, 8.0], 'label': 'a'}]),
           'v_x2': dict(duration_second=5.0, duration_frame=150, fps=30.0, feature_frame=144,
                        annotations=[])}
    (tmp_path / 'ann.json').write_text(json.dumps(ann))
    (tmp_path / 'classes.csv').write_text('action\na\nb\n')
    props = {'x1': dict(segments=np.array([[1.0, 4.0], [5.0, 8.0], [8.5, 9.5]]),
                        scores=np.array([0.9, 0.8, 0.1]))}
    write_results(tmp_path / 'r.json', props)
    convert.main(['to-text', '--proposal-file', str(tmp_path / 'r.json'), '--ann-file',
                  str(tmp_path / 'ann.json'), '--activity-index-file', str(tmp_path / 'classes.csv'),
                  '--formatted-proposal-file', str(tmp_path / 'p.txt')])
    lines = (tmp_path / 'p.txt').read_text().splitlines()
    # [5, 8] vs GT [6, 8] ('a' = 0): IoU 2/3, overlap 2/3 (float32); [8.5, 9.5] hits nothing
    assert lines[:6] == ['#0', 'x1', '300', '30.0', '2', '1 1.0 4.0']
    assert lines[6:9] == ['0 6.0 8.0', '3', '1 1.0 1.0 1.0 4.0']
    assert lines[9] == f'0 {float(np.float32(2 / 3))!r} {float(np.float32(2 / 3))!r} 5.0 8.0'
    assert lines[10] == '0 0 0 8.5 9.5'
    assert lines[11:] == ['#1', 'x2', '150', '30.0', '0', '0']
    blocks = parse_proposal_text(tmp_path / 'p.txt')
    np.testing.assert_array_equal(blocks[0]['proposals'][:, 3:], props['x1']['segments'])
    # JSON: ours -> official detections -> ours is lossless
    det = dict(props)
    det['x1'] = dict(props['x1'], labels=['a', 'b', 'a'])
    write_results(tmp_path / 'd.json', det)
    convert.main(['to-official', '--detections', '--proposal-file', str(tmp_path / 'd.json'),
                  '--out', str(tmp_path / 'sub.json')])
    sub = json.loads((tmp_path / 'sub.json').read_text())
    assert set(sub) == {'version', 'results', 'external_data'}
    convert.main(['from-official', '--proposal-file', str(tmp_path / 'sub.json'),
                  '--out', str(tmp_path / 'back.json')])
    back = read_results(tmp_path / 'back.json', require_label=True)['x1']
    np.testing.assert_array_equal(back['segments'], det['x1']['segments'])
    np.testing.assert_array_equal(back['scores'], det['x1']['scores'])
    assert back['labels'] == ['a', 'b', 'a']
