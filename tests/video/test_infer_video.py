"""tools/infer.py --video end to end (BMN and AFSD, random-init extractor on an encoded mp4):
results.json, .srt and timeline PNG exist and parse; the sidecar's times are the encoded
frame times; Python's LocalizationInferencer(...)(video) gives the same predictions."""
import importlib.util
import json
import os.path as osp
import re

import numpy as np
import pytest
import torch

from mmloc.evaluation.formats import read_results
from mmloc.testing.synthetic_video import write_video

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(REPO, 'configs/extractors/tiny3d_rgb_demo.py')

BMN_CFG = """
model = dict(type='BMN', temporal_dim=16, boundary_ratio=0.5, num_samples=4,
             num_samples_per_bin=2, feat_dim=64, soft_nms_alpha=0.4,
             soft_nms_low_threshold=0.5, soft_nms_high_threshold=0.9, post_process_top_k=10,
             hidden_dim_1d=16, hidden_dim_2d=16, hidden_dim_3d=16, loss=dict(type='BMNLoss'))
"""
AFSD_CFG = """
_base_ = ['{repo}/configs/localization/afsd/afsd_feature_thumos14.py']
clip_length = 32
model = dict(net=dict(num_classes=3, clip_length=32, feature_channels=64, width=32,
                      num_levels=4, gn_groups=8),
             test_cfg=dict(clip_stride=16, top_k=50))
_files = dict(video_info_file='none.csv', ann_file='none.csv', class_index_file='none.txt')
test_dataloader = dict(dataset=dict(clip_length=32, clip_stride=8, **_files))
val_dataloader = test_dataloader
"""


def _tool():
    spec = importlib.util.spec_from_file_location('infer_tool', osp.join(REPO, 'tools/infer.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


infer = _tool()


def _localizer(tmp_path, kind):
    from mmengine.config import Config

    from mmloc.registry import MODELS
    from mmloc.utils import register_all_modules
    register_all_modules()
    cfg_file = tmp_path / f'{kind}.py'
    cfg_file.write_text(BMN_CFG if kind == 'bmn' else AFSD_CFG.format(repo=REPO))
    model = MODELS.build(Config.fromfile(str(cfg_file)).model)
    torch.manual_seed(0)
    ckpt = tmp_path / f'{kind}.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    return str(cfg_file), str(ckpt)


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('infer_video') / 'my_video.mp4')
    times = write_video(path, 8.0, 10, [(1.0, 3.0, 0), (4.5, 7.0, 1)])
    return path, times


SRT_CUE = re.compile(r'(\d+)\n(\d\d:\d\d:\d\d,\d{3}) --> (\d\d:\d\d:\d\d,\d{3})\n(.+) '
                     r'\((\d\.\d{3})\)\n')


def _seconds(stamp):
    h, m, rest = stamp.split(':')
    s, ms = rest.split(',')
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


@pytest.mark.parametrize('kind', ['bmn', 'afsd'])
def test_infer_video_end_to_end(kind, video, tmp_path, capsys):
    from matplotlib.image import imread

    from mmloc.apis import LocalizationInferencer
    path, times = video
    cfg, ckpt = _localizer(tmp_path, kind)
    out = tmp_path / 'out'
    results = infer.main([cfg, ckpt, '--video', path, '--extractor', TINY,
                          '--extractor-random-init', '--out', str(out)])
    capsys.readouterr()
    data = json.loads((out / 'results.json').read_text())['results']
    # (read_results also checks the file; an untrained AFSD may give end < start segments)
    if kind == 'bmn':
        read_results(str(out / 'results.json'))
    written = {v: dict(segments=[p['segment'] for p in items], scores=[p['score'] for p in items])
               for v, items in data.items()}
    assert set(written) == {'my_video'} and len(written['my_video']['scores']) > 0
    segs = np.asarray(written['my_video']['segments'])
    assert segs.min() >= -1e-6 and segs.max() <= 8.0 + 1e-6
    # one cue per detection, labelled and scored, in time order
    text = (out / 'my_video.srt').read_text()
    cues = SRT_CUE.findall(text)
    assert len(cues) == len(written['my_video']['scores'])
    starts = [_seconds(c[1]) for c in cues]
    assert starts == sorted(starts)
    np.testing.assert_allclose(sorted(starts), np.sort(np.round(segs[:, 0], 3)), atol=1.5e-3)
    if kind == 'afsd':
        assert all(c[3].isdigit() for c in cues)   # class ids (the config names no classes)
    img = imread(str(out / 'my_video_timeline.png'))
    assert img.ndim == 3 and img.shape[0] > 50
    # the sidecar's snippet start times are the encoded frame times (window 8, stride 4)
    side = json.loads((out / 'my_video.sidecar.json').read_text())
    np.testing.assert_allclose(side['snippet_start_s'], times[::4][:side['num_snippets']],
                               atol=1e-9)
    assert side['num_snippets'] == (80 - 8) // 4 + 1
    # the same from Python
    py = LocalizationInferencer(cfg, ckpt, extractor=TINY, extractor_random_init=True)(path)
    np.testing.assert_allclose(py['predictions'][0]['scores'], results['my_video']['scores'],
                               rtol=1e-5)


def test_proposals_labelled_by_a_classifier_file(video, tmp_path, capsys):
    path, _ = video
    cfg, ckpt = _localizer(tmp_path, 'bmn')
    cls = tmp_path / 'cls.json'
    cls.write_text(json.dumps({'results': {'my_video': [{'label': 'juggling', 'score': 0.9},
                                                        {'label': 'dancing', 'score': 0.2}]}}))
    out = tmp_path / 'out'
    infer.main([cfg, ckpt, '--video', path, '--extractor', TINY, '--extractor-random-init',
                '--out', str(out), '--classifier', str(cls)])
    capsys.readouterr()
    written = json.loads((out / 'results.json').read_text())['results']['my_video']
    assert {p['label'] for p in written} == {'juggling'}
    assert 'juggling (' in (out / 'my_video.srt').read_text()


def test_video_input_errors(video, tmp_path, capsys):
    from mmloc.utils.cli import run_tool
    cfg, ckpt = _localizer(tmp_path, 'bmn')
    bad = tmp_path / 'broken.mp4'
    bad.write_bytes(b'garbage' * 50)
    with pytest.raises(SystemExit) as info:
        run_tool(infer.main, [cfg, ckpt, '--video', str(bad), '--extractor', TINY,
                              '--extractor-random-init', '--out', str(tmp_path / 'o')])
    assert info.value.code == 2
    assert f'{bad}: not a readable video container' in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        run_tool(infer.main, [cfg, ckpt, '--video', video[0], '--out', str(tmp_path / 'o')])
    assert info.value.code == 2 and '--video needs --extractor' in capsys.readouterr().err
