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
        segs = np.concatenate([gt + rng.normal(0, 2, gt.shape),
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
