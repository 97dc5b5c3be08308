"""SSN frame / feature loading and packing, including the shared MMAction2 sample frames."""
import numpy as np
import pytest
import torch
from PIL import Image

from mmloc.datasets.ssn_dataset import SSNDataset
from mmloc.datasets.transforms.ssn_loading import (SSNLoadFeatures, SSNLoadFrames,
                                                   frames_to_snippets, rescale_size)


def test_rescale_size_follows_mmcv_keep_ratio():
    assert rescale_size(320, 180, (340, 256)) == (340, 191)   # long edge binds
    assert rescale_size(340, 256, (340, 256)) == (340, 256)
    assert rescale_size(100, 200, (340, 256)) == (170, 340)   # portrait: long edge binds
    assert rescale_size(400, 200, (340, 256)) == (340, 170)
    assert rescale_size(300, 300, (340, 256)) == (256, 256)   # short edge binds


def test_frames_to_snippets_hand_values():
    np.testing.assert_array_equal(frames_to_snippets([1, 10, 11, 55, 100], 100, 10),
                                  [0, 0, 1, 5, 9])


def test_load_frames_channel_order_and_mean(tmp_path):
    colour = (200, 100, 50)  # R, G, B
    for i in (1, 2):
        Image.new('RGB', (40, 30), colour).save(tmp_path / f'img_{i:05d}.png')
    t = SSNLoadFrames(filename_tmpl='img_{:05}.png', scale=(20, 20), crop_size=16)
    out = t(dict(frame_dir=str(tmp_path), frame_inds=np.array([2, 1, 2]), video_id='v'))
    assert out['inputs'].shape == (3, 3, 16, 16) and out['inputs'].dtype == np.float32
    # 0.x: decode RGB, Normalize(to_bgr=True) swaps to BGR, then subtracts the BGR mean
    np.testing.assert_array_equal(out['inputs'][0, :, 8, 8], [50 - 104, 100 - 117, 200 - 128])
    rgb = SSNLoadFrames(filename_tmpl='img_{:05}.png', scale=(20, 20), crop_size=16,
                        to_bgr=False)(dict(frame_dir=str(tmp_path), frame_inds=np.array([1])))
    np.testing.assert_array_equal(rgb['inputs'][0, :, 8, 8], [200 - 104, 100 - 117, 50 - 128])
    with pytest.raises(FileNotFoundError, match='video v: frame .*img_00009.png'):
        t(dict(frame_dir=str(tmp_path), frame_inds=np.array([9]), video_id='v'))
    (tmp_path / 'img_00003.png').write_bytes(b'not an image')
    with pytest.raises(ValueError, match='img_00003.png: video v: not a readable image'):
        t(dict(frame_dir=str(tmp_path), frame_inds=np.array([3]), video_id='v'))


def _png_rows(tmp_path, columns_rgb, height):
    """Write img_00001.png whose every row is ``columns_rgb`` ((W, 3) uint8, RGB)."""
    img = np.broadcast_to(np.asarray(columns_rgb, np.uint8), (height, len(columns_rgb), 3))
    Image.fromarray(np.ascontiguousarray(img)).save(tmp_path / 'img_00001.png')


def test_load_frames_shrinks_like_opencv_bilinear(tmp_path):
    # 8 x 4 image, rows identical -> keep-ratio 4 x 2 -> centre crop 2 x 2 (columns 1, 2).
    # OpenCV bilinear halving samples at 2j + 0.5: the mean of columns 2j and 2j + 1, no
    # antialiasing (Pillow's bilinear would spread over four columns).
    red = [0, 100, 200, 40, 90, 10, 30, 30]
    _png_rows(tmp_path, [(r, 2, 3) for r in red], height=4)
    t = SSNLoadFrames(filename_tmpl='img_{:05}.png', scale=(4, 2), crop_size=2,
                      mean=(0, 0, 0), to_bgr=False)
    out = t(dict(frame_dir=str(tmp_path), frame_inds=np.array([1])))['inputs'][0]
    np.testing.assert_array_equal(out[0], [[120, 50], [120, 50]])   # (200+40)/2, (90+10)/2
    np.testing.assert_array_equal(out[1:], np.broadcast_to([[[2]], [[3]]], (2, 2, 2)))


def test_load_frames_enlarges_like_opencv_bilinear(tmp_path):
    # 2 x 1 image -> 4 x 2 (crop 2): output columns 1, 2 sample the source at x = 0.25, 0.75
    # (half-pixel centres): 0.75 * 0 + 0.25 * 200 = 50 and 0.25 * 0 + 0.75 * 200 = 150.
    _png_rows(tmp_path, [(0, 0, 0), (200, 0, 0)], height=1)
    t = SSNLoadFrames(filename_tmpl='img_{:05}.png', scale=(4, 2), crop_size=2,
                      mean=(0, 0, 0), to_bgr=True)
    out = t(dict(frame_dir=str(tmp_path), frame_inds=np.array([1])))['inputs'][0]
    np.testing.assert_array_equal(out[2], [[50, 150], [50, 150]])   # red is channel 2 in BGR
    np.testing.assert_array_equal(out[:2], 0)


def test_load_features_gathers_snippets(tmp_path):
    feat = np.arange(3 * 10, dtype=np.float32).reshape(3, 10)  # (C, T)
    np.save(tmp_path / 'v.npy', feat)
    t = SSNLoadFeatures()
    out = t(dict(feature_path=str(tmp_path / 'v.npy'), frame_inds=np.array([1, 11, 100]),
                 total_frames=100, video_id='v'))
    np.testing.assert_array_equal(out['inputs'], feat[:, [0, 1, 9]].T)
    np.save(tmp_path / 'bad.npy', np.zeros(5))
    with pytest.raises(ValueError, match='bad.npy: video w: expected a \\(C, T\\)'):
        t(dict(feature_path=str(tmp_path / 'bad.npy'), frame_inds=np.array([1]),
               total_frames=5, video_id='w'))


def test_dataset_on_shared_frames_train_and_test(shared_data):
    root = shared_data / 'mmaction2-testdata'
    ann = str(root / 'annotations' / 'proposal_test_list.txt')
    load = dict(type='SSNLoadFrames', scale=(80, 64), crop_size=56)
    # incomplete IoU 0.5 as in MMAction2's own SSN dataset test (the sample has no
    # proposal below 0.3)
    ds = SSNDataset(ann, data_prefix=dict(video=str(root)), fps=1.0, seed=0,
                    assigner=dict(incomplete_iou_threshold=0.5),
                    pipeline=[dict(type='SampleProposalFrames', mode='train', seed=0), load,
                              dict(type='PackSSNInputs')])
    out = ds[0]
    assert out['inputs'].shape == (8 * 9, 3, 56, 56)
    props = out['data_samples'].proposals
    np.testing.assert_array_equal(props.types.numpy(), [0, 1, 1, 1, 1, 1, 1, 2])
    assert props.scale_factors.shape == (8, 2)
    meta = out['data_samples'].metainfo
    assert meta['video_name'] == 'imgs'
    # GT frames [1, 2) and [3, 5) of 5 frames at fps 1 -> seconds; labels 0-based
    assert meta['annotations'] == [dict(segment=[1.0, 2.0], label=2),
                                   dict(segment=[3.0, 5.0], label=2)]

    test = SSNDataset(ann, data_prefix=dict(video=str(root)), fps=1.0, test_mode=True,
                      reg_normalize_constants=[[0, 0], [1, 1]],
                      pipeline=[dict(type='SampleProposalFrames', mode='test',
                                     test_interval=1), load, dict(type='PackSSNInputs')])
    out = test[0]
    assert out['inputs'].shape == (4, 3, 56, 56)  # frames 1..4 (arange(0, 5 - 1))
    props = out['data_samples'].proposals
    assert props.segments.shape == (10, 2) and props.ticks.dtype == torch.int64
    np.testing.assert_allclose(props.segments[0].numpy(), [0.2, 0.4])
