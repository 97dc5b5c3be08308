"""tools/data/extract_features.py: a folder with good and bad videos, resume, shards, layouts."""
import importlib.util
import os
import os.path as osp

import numpy as np
import pytest

from mmloc.testing.synthetic_video import write_video
from mmloc.utils.cli import run_tool
from mmloc.video import read_sidecar

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(REPO, 'configs/extractors/tiny3d_rgb_demo.py')


def _tool():
    spec = importlib.util.spec_from_file_location(
        'extract_tool', osp.join(REPO, 'tools/data/extract_features.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


tool = _tool()


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp('videos')
    write_video(str(root / 'good1.mp4'), 3.0, 10, [(0.5, 2.0, 0)])
    write_video(str(root / 'good2.mp4'), 2.0, 10, [(0.2, 1.0, 1)], pts_s=None)
    write_video(str(root / 'short.mp4'), 0.4, 10)
    (root / 'corrupt.mp4').write_bytes(b'\x00not a video' * 100)
    (root / 'empty.mp4').write_bytes(b'')
    return root


def _run(argv, capsys):
    with pytest.raises(SystemExit) as info:
        run_tool(tool.main, argv)
    cap = capsys.readouterr()
    return info.value.code, cap.out, cap.err


def test_batch_reports_failures_and_finishes_the_others(folder, tmp_path, capsys):
    out = tmp_path / 'feats'
    code, stdout, err = _run([TINY, '--random-init', '--videos', str(folder), '--out', str(out),
                              '--workers', '2'], capsys)
    assert code == 2
    assert sorted(os.listdir(out)) == ['good1.npy', 'good1.sidecar.json', 'good2.npy',
                                       'good2.sidecar.json']
    assert '2 extracted, 0 skipped, 3 failed' in stdout
    for name, problem in [('short.mp4', 'shorter than one snippet'),
                          ('corrupt.mp4', 'not a readable video'), ('empty.mp4', 'empty file')]:
        assert f'{folder / name}: ' in err and problem in err
    feats = np.load(out / 'good1.npy')
    assert feats.shape == (6, 64)
    read_sidecar(str(out / 'good1.npy'), num_rows=6)
    # started again: the finished videos are skipped, the bad ones tried again
    mtime = os.path.getmtime(out / 'good1.npy')
    code, stdout, _ = _run([TINY, '--random-init', '--videos', str(folder), '--out', str(out),
                            '--workers', '0'], capsys)
    assert '2 already done, 3 to extract' in stdout and code == 2
    assert os.path.getmtime(out / 'good1.npy') == mtime


def test_shards_split_the_videos(folder, tmp_path, capsys, monkeypatch):
    listing = tmp_path / 'list.txt'
    listing.write_text(f'{folder}/good1.mp4\n# comment\n{folder}/good2.mp4\n')
    out = tmp_path / 'sharded'
    for rank in (0, 1):
        monkeypatch.setenv('RANK', str(rank))
        monkeypatch.setenv('WORLD_SIZE', '2')
        summary = tool.main([TINY, '--random-init', '--videos', str(listing), '--out', str(out),
                             '--workers', '0'])
        assert [osp.basename(v) for v in summary['done']] == [f'good{rank + 1}.mp4']
    capsys.readouterr()


def test_bmn_layout_is_csv_resampled_to_100(folder, tmp_path, capsys):
    out = tmp_path / 'bmn'
    cfg = osp.join(REPO, 'configs/localization/bmn/bmn_synthetic_demo.py')
    tool.main([TINY, '--random-init', '--videos', str(folder / 'good1.mp4'), '--out', str(out),
               '--localizer-config', cfg, '--workers', '0'])
    rows = np.loadtxt(out / 'good1.csv', delimiter=',', skiprows=1)
    assert rows.shape == (100, 64)
    side = read_sidecar(str(out / 'good1.csv'), num_rows=100)
    assert side['resized_to'] == 100 and side['num_snippets'] == 6
    capsys.readouterr()


def test_missing_weights_and_width_mismatch(folder, tmp_path, capsys):
    code, _, err = _run([TINY, '--videos', str(folder), '--out', str(tmp_path)], capsys)
    assert code == 2 and '--checkpoint' in err
    code, _, err = _run([TINY, '--checkpoint', str(tmp_path / 'w.pth'), '--videos', str(folder),
                         '--out', str(tmp_path)], capsys)
    assert code == 2 and 'w.pth: extractor checkpoint not found' in err
    cfg = osp.join(REPO, 'configs/localization/bmn/bmn_400x100_2x8_9e_activitynet_feature.py')
    code, _, err = _run([TINY, '--random-init', '--videos', str(folder), '--out', str(tmp_path),
                         '--localizer-config', cfg], capsys)
    assert code == 2 and 'reads 400-d features' in err and 'gives 64' in err
