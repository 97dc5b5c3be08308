"""tools/infer.py: single file, list file with durations, printed top proposals, results.json."""
import ast
import importlib.util
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from mmloc.apis import inference_localizer, init_localizer
from mmloc.evaluation.formats import read_results

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _load_tool():
    spec = importlib.util.spec_from_file_location('infer_tool', osp.join(REPO, 'tools/infer.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


infer = _load_tool()


def _write_csv(path, feat):
    np.savetxt(path, feat, delimiter=',', fmt='%.4f',
               header=','.join(f'f{i}' for i in range(feat.shape[1])), comments='')
    return str(path)


@pytest.fixture(scope='module')
def videos(tiny_bmn, tmp_path_factory):
    root = tmp_path_factory.mktemp('infer_inputs')
    rng = np.random.default_rng(7)
    a = _write_csv(root / 'v_clipA.csv', np.round(rng.random((30, tiny_bmn['C'])), 4))
    b = root / 'v_clipB.npy'
    np.save(b, rng.random((9, tiny_bmn['C'])).astype(np.float32))
    listing = root / 'videos.txt'
    listing.write_text('# feature file, duration in seconds\nv_clipA.csv 122.99\n\n'
                       f'{b} 47.5\n')
    return dict(a=a, b=str(b), list=str(listing), root=root)


def test_list_input_writes_results_and_prints_top(tiny_bmn, videos, tmp_path, capsys):
    out = tmp_path / 'out'
    results = infer.main([tiny_bmn['config'], tiny_bmn['checkpoint'], '--input', videos['list'],
                          '--out', str(out), '--show-top', '3'])
    printed = capsys.readouterr().out
    model = init_localizer(tiny_bmn['config'], tiny_bmn['checkpoint'])
    expected = {'clipA': inference_localizer(model, videos['a'], duration_s=122.99),
                'clipB': inference_localizer(model, videos['b'], duration_s=47.5)}
    written = read_results(str(out / 'results.json'))
    assert set(written) == set(results) == {'clipA', 'clipB'}
    for vid, props in expected.items():
        np.testing.assert_allclose(written[vid]['segments'], [p['segment'] for p in props])
        np.testing.assert_allclose(written[vid]['scores'], [p['score'] for p in props])
    # the printed lines are dict literals of the top 3, rounded to 3 / 2 decimals
    lines = [ast.literal_eval(line) for line in printed.splitlines() if line.startswith('{')]
    assert len(lines) == 6
    for line, p in zip(lines[:3], expected['clipA'][:3]):
        assert line == {'score': round(p['score'], 3),
                        'segment': [round(p['segment'][0], 2), round(p['segment'][1], 2)]}
    assert max(line['segment'][1] for line in lines[:3]) <= 122.99
    with open(out / 'results.json') as f:
        assert json.load(f)['version'] == 'VERSION 1.3'


def test_read_input_list_errors(tmp_path):
    bad = tmp_path / 'bad.txt'
    bad.write_text('a.csv 12\nb.mp4\n')
    with pytest.raises(ValueError, match=r'bad.txt:2: expected "feature_file.csv\|.npy'):
        infer.read_input_list(str(bad))
    bad.write_text('a.csv twelve\n')
    with pytest.raises(ValueError, match='bad.txt:1: duration must be a number'):
        infer.read_input_list(str(bad))
    empty = tmp_path / 'empty.txt'
    empty.write_text('# nothing\n')
    with pytest.raises(ValueError, match='names no feature file'):
        infer.read_input_list(str(empty))
    assert infer.read_input_list('x/v_a.npy', 3.0) == [('x/v_a.npy', 3.0)]
    assert infer.video_id_of('/d/v_--1DO2V4K74.csv') == '--1DO2V4K74'


@pytest.mark.slow  # a fresh interpreter importing torch + mmengine: ~20 s on 2 busy cores
def test_command_line_single_file_with_fps(tiny_bmn, videos, tmp_path):
    out = tmp_path / 'cli'
    proc = subprocess.run(
        [sys.executable, 'tools/infer.py', tiny_bmn['config'], tiny_bmn['checkpoint'],
         '--input', videos['a'], '--fps', '30', '--out', str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    top = [ast.literal_eval(line) for line in proc.stdout.splitlines() if line.startswith('{')]
    assert len(top) == 5
    # 30 snippets x 16 frames / 30 fps = 16 s
    assert all(0 <= p['segment'][0] < p['segment'][1] <= 16.0 for p in top)
    assert 'clipA' in read_results(str(out / 'results.json'))
