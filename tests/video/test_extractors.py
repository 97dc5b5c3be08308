"""Extractors: checkpoint key maps, missing weights, features + sidecar of a real mp4."""
import numpy as np
import pytest
import torch

from mmloc.apis.extraction import FeatureExtractor, save_features
from mmloc.models.extractors import (load_extractor_checkpoint, map_extractor_keys,
                                     torchvision_available)
from mmloc.registry import MODELS
from mmloc.testing.synthetic_video import write_video
from mmloc.utils import register_all_modules
from mmloc.video import read_sidecar, time_grid_from_sidecar

register_all_modules()
TINY = 'configs/extractors/tiny3d_rgb_demo.py'


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('ext') / 'clip.mp4')
    times = write_video(path, 4.0, 10, [(1.0, 2.5, 0)])
    return path, times


def _tiny_backbone():
    torch.manual_seed(0)
    return MODELS.build(dict(type='TinyVideoBackbone', base_channels=4, c4_channels=8,
                             c5_channels=8))


@pytest.mark.parametrize('prefix', ['', 'module.', 'backbone._model.', 'module.backbone._model.',
                                    'net.backbone.'])
def test_i3d_layouts_load(tmp_path, prefix):
    src, dst = _tiny_backbone(), _tiny_backbone()
    with torch.no_grad():
        for p in dst.parameters():
            p.zero_()
    state = {prefix + k: v for k, v in src.state_dict().items()}
    state[prefix + 'logits.conv3d.weight'] = torch.zeros(3)     # classifier: dropped
    if prefix == 'net.backbone.':                               # rest of an AFSD model
        state['net.head.loc.weight'] = torch.zeros(2)
    path = tmp_path / 'w.pth'
    torch.save({'state_dict': state}, path)
    load_extractor_checkpoint(dst, str(path), 'i3d')
    for k, v in src.state_dict().items():
        assert torch.equal(dst.state_dict()[k], v), k


def test_resnet_layouts_mmaction2_and_torchvision():
    keys = {'backbone.conv1.conv.weight': 1, 'cls_head.fc_cls.weight': 2}
    assert map_extractor_keys(keys, 'resnet') == {'conv1.conv.weight': 1}
    tv = {'conv1.weight': 1, 'bn1.running_mean': 2, 'layer1.0.downsample.0.weight': 3,
          'layer1.0.bn2.weight': 4, 'fc.weight': 5}
    assert map_extractor_keys(tv, 'resnet') == {
        'conv1.conv.weight': 1, 'conv1.bn.running_mean': 2,
        'layer1.0.downsample.conv.weight': 3, 'layer1.0.conv2.bn.weight': 4}


def test_wrong_checkpoint_is_an_error_naming_the_keys(tmp_path):
    path = tmp_path / 'other.pth'
    torch.save({'conv.weight': torch.zeros(1)}, path)
    with pytest.raises(KeyError, match=r'other\.pth: i3d checkpoint does not match.*missing'):
        load_extractor_checkpoint(_tiny_backbone(), str(path), 'i3d')


def test_missing_checkpoint_says_where_weights_are_published(tmp_path):
    with pytest.raises(FileNotFoundError, match='never downloads.*pytorch-i3d'):
        FeatureExtractor('configs/extractors/i3d_rgb.py', str(tmp_path / 'i3d.pth'))
    with pytest.raises(FileNotFoundError, match='MMAction2 model zoo'):
        FeatureExtractor('configs/extractors/tsn_r50_rgb.py')


def test_tiny_features_and_sidecar_times(video, tmp_path):
    path, times = video
    ext = FeatureExtractor(TINY, random_init=True)
    feats, sidecar = ext.extract(path)
    s = ext.sampling                         # fps 10, window 8, stride 4
    assert feats.shape == (s.num_snippets(len(times)), 64) == (9, 64)
    assert np.isfinite(feats).all() and feats.std(0).max() > 0
    # the sidecar's start times are the encoded frame times of each snippet's first frame
    np.testing.assert_allclose(sidecar['snippet_start_s'], times[::4][:9], atol=1e-9)
    out = str(tmp_path / 'clip.npy')
    save_features(out, feats, sidecar)
    back = read_sidecar(out, num_rows=np.load(out).shape[0])
    grid = time_grid_from_sidecar(back)
    # row g is centred on its window: (g * stride + window / 2) / fps
    np.testing.assert_allclose(grid.index_to_seconds(np.arange(9)),
                               (np.arange(9) * 4 + 4) / 10.0)
    np.testing.assert_allclose(grid.index_to_seconds(np.arange(9)) - 0.4,
                               back['snippet_start_s'], atol=1e-9)
    # the same batch composition does not change a snippet's features
    ext.batch_size = 2
    np.testing.assert_allclose(ext.extract(path)[0], feats, rtol=1e-4, atol=1e-5)


def test_csv_resized_to_100_and_length_mismatch(video, tmp_path):
    path, _ = video
    feats, sidecar = FeatureExtractor(TINY, random_init=True).extract(path)
    out = str(tmp_path / 'v_clip.csv')
    written = save_features(out, feats, sidecar, num_steps=100)
    rows = np.loadtxt(out, delimiter=',', skiprows=1)
    assert rows.shape == (100, 64)
    grid = time_grid_from_sidecar(written)
    # the resized rows cover the same frames as the 9 snippets: [0, (9 - 1) * 4 + 8)
    assert grid.num_steps == 100
    np.testing.assert_allclose(grid.index_to_seconds(np.array([-0.5, 99.5])), [0.0, 4.0])
    np.save(str(tmp_path / 'v_clip.npy'), feats[:5])
    import shutil
    shutil.copy(tmp_path / 'v_clip.sidecar.json', tmp_path / 'v_clip_copy.sidecar.json')
    with pytest.raises(ValueError, match=r'v_clip\.npy: 5 feature rows, but its sidecar'):
        read_sidecar(str(tmp_path / 'v_clip.npy'), num_rows=5)


def test_2d_extractor_is_the_mean_of_frame_features(video):
    path, _ = video
    ext = FeatureExtractor('configs/extractors/tsn_r50_rgb.py', random_init=True,
                           cfg_options={'model.crop_size': 32, 'decode.short_side': 32,
                                        'model.backbone.depth': 50},
                           sampling=dict(fps=10, window=8, stride=8, frames_per_snippet=2))
    feats, sidecar = ext.extract(path)
    assert feats.shape == (5, 2048)
    clips = next(ext.iter_chunks(path))['clips'][:1]             # (1, 2, H, W, 3)
    single = [ext.embed(clips[:, j:j + 1]) for j in range(2)]
    np.testing.assert_allclose(feats[0], (single[0][0] + single[1][0]) / 2, rtol=1e-4,
                               atol=1e-5)


@pytest.mark.skipif(not torchvision_available(), reason='torchvision is not installed')
def test_torchvision_video_backbone(video):
    ext = FeatureExtractor('configs/extractors/r2plus1d_18_rgb.py', random_init=True,
                           cfg_options={'model.crop_size': 32, 'decode.short_side': 32})
    feats, _ = ext.extract(video[0])
    assert feats.shape[1] == 512


def test_torchvision_backbone_is_unregistered_without_torchvision():
    assert ('TorchvisionVideoBackbone' in MODELS.module_dict) == torchvision_available()
