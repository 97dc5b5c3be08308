"""tools/analysis/analyze_logs.py on a hand-written mmengine scalars.json."""
import importlib.util
import json
import os.path as osp

import matplotlib.image as mpimg
import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
spec = importlib.util.spec_from_file_location('analyze_logs_tool',
                                              osp.join(REPO, 'tools/analysis/analyze_logs.py'))
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)

LINES = [  # as mmengine writes them: training lines with epoch/iter/step, validation with step
    {'lr': 0.001, 'loss': 2.0, 'tem': 1.4, 'time': 0.9, 'epoch': 1, 'iter': 1, 'step': 1},
    {'lr': 0.001, 'loss': 1.5, 'tem': 1.2, 'time': 0.2, 'epoch': 1, 'iter': 2, 'step': 2},
    {'lr': 0.001, 'loss': 1.1, 'tem': 1.0, 'time': 0.4, 'epoch': 1, 'iter': 3, 'step': 3},
    {'auc': 40.0, 'AR@100': 0.5, 'time': 0.05, 'step': 1},
    {'lr': 0.0001, 'loss': 0.9, 'tem': 0.8, 'time': 0.8, 'epoch': 2, 'iter': 4, 'step': 4},
    {'lr': 0.0001, 'loss': 0.7, 'tem': 0.6, 'time': 0.3, 'epoch': 2, 'iter': 5, 'step': 5},
    {'auc': 55.0, 'AR@100': 0.6, 'time': 0.05, 'step': 2},
]


@pytest.fixture()
def log(tmp_path):
    path = tmp_path / 'work' / '20260101_000000' / 'vis_data' / 'scalars.json'
    path.parent.mkdir(parents=True)
    path.write_text('\n'.join(json.dumps(x) for x in LINES) + '\n')
    return str(path)


def test_curves_split_training_and_validation(log):
    scalars = tool.load_scalars(log)
    assert len(scalars['train']) == 5 and len(scalars['val']) == 2
    steps, values, kind = tool.curve(scalars, 'loss')
    assert kind == 'train'
    np.testing.assert_array_equal(steps, [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(values, [2.0, 1.5, 1.1, 0.9, 0.7])
    steps, values, kind = tool.curve(scalars, 'auc')
    assert kind == 'val'
    np.testing.assert_array_equal(steps, [1, 2])
    np.testing.assert_array_equal(values, [40.0, 55.0])
    # 'time' is in both kinds: the training iterations win
    assert tool.curve(scalars, 'time')[2] == 'train'
    with pytest.raises(KeyError, match=r"'nope' is not in the log \(logged keys: \['AR@100'"):
        tool.curve(scalars, 'nope')


def test_train_time_drops_the_first_iteration_of_each_epoch(log):
    st = tool.train_time(tool.load_scalars(log))
    # kept: epoch 1 -> 0.2, 0.4 (mean 0.3); epoch 2 -> 0.3
    assert st['mean'] == pytest.approx(0.3)
    assert st['std'] == pytest.approx(np.std([0.2, 0.4, 0.3]))
    assert st['epoch_means'] == {1: pytest.approx(0.3), 2: pytest.approx(0.3)}
    full = tool.train_time(tool.load_scalars(log), include_outliers=True)
    assert full['mean'] == pytest.approx(np.mean([0.9, 0.2, 0.4, 0.8, 0.3]))
    # epoch 1: (0.9 + 0.2 + 0.4) / 3 = 0.5, epoch 2: (0.8 + 0.3) / 2 = 0.55
    assert full['epoch_means'] == {1: pytest.approx(0.5), 2: pytest.approx(0.55)}
    assert full['slowest_epoch'] == 2 and full['fastest_epoch'] == 1


def test_plot_curve_command(log, tmp_path, capsys):
    out = tmp_path / 'curves.png'
    tool.main(['plot_curve', log, log, '--keys', 'loss', 'auc', '--legend', 'a', 'b',
               '--out', str(out)])
    img = mpimg.imread(str(out))
    assert img.shape[1] > 1.5 * img.shape[0] and img[..., :3].std() > 0.01  # two panels
    assert str(out) in capsys.readouterr().out
    with pytest.raises(ValueError, match='--legend needs 2 names'):
        tool.main(['plot_curve', log, log, '--keys', 'loss', '--legend', 'a', 'b', 'c',
                   '--out', str(out)])
    stats = tool.main(['cal_train_time', log])
    assert stats[log]['mean'] == pytest.approx(0.3)


def test_bad_lines_name_file_and_line(tmp_path):
    bad = tmp_path / 'scalars.json'
    bad.write_text('{"loss": 1, "step": 1, "iter": 1}\nnot json\n')
    with pytest.raises(ValueError, match='scalars.json:2: not a JSON object'):
        tool.load_scalars(str(bad))
    bad.write_text('{"loss": 1}\n')
    with pytest.raises(ValueError, match='scalars.json:1: expected a JSON object with "step"'):
        tool.load_scalars(str(bad))
