"""Sliding windows, boundary labels (spec §8.2e-f) and the contrastive clip (§4.7)."""
import numpy as np
import pytest

from mmloc.datasets.transforms.afsd_windows import (boundary_labels, contrastive_clip,
                                                    split_training_windows)
from mmloc.structures.windows import window_offsets


def test_window_offsets_golden():
    assert window_offsets(300, 256, 30) == [0, 30, 44]
    assert window_offsets(300, 256, 128) == [0, 44]
    assert window_offsets(256, 256, 30) == [0] and window_offsets(256, 256, 128) == [0]
    assert window_offsets(200, 256, 30) == [0]
    assert window_offsets(286, 256, 30) == [0, 30]  # on the grid: no extra tail


def test_boundary_labels_golden():
    start, end = boundary_labels(np.array([[10.5, 15.5, 1], [3, 28, 2]]), 32)
    assert set(np.nonzero(start)[0]) == {2, 3, 4, 10, 11, 12}
    assert set(np.nonzero(end)[0]) == {14, 15, 16, 27, 28, 29}
    assert set(np.nonzero(start[::4])[0]) == {1, 3}
    assert set(np.nonzero(end[::4])[0]) == {4, 7}


def test_split_training_windows_by_hand():
    # 300 frames, L = 256, stride 30 -> offsets 0, 30, 44.
    gts = np.array([[10, 50, 1], [240, 280, 2]])
    windows, th = split_training_windows(300, gts, 256, 30)
    offsets = [o for o, _ in windows]
    # offset 0: GT1 inside (ioa 1); GT2 ioa (256-240)/40 = 0.4 -> dropped.
    # offset 30: GT1 ioa (50-31)/40 < 1, GT2 (280-240)/40 = 1 -> kept with GT2; GT1 ioa .475.
    # offset 44: GT2 inside; GT1 ioa (50-45)/40 -> dropped.
    assert offsets == [0, 30, 44]
    np.testing.assert_allclose(windows[0][1], [[10, 50, 1]])
    np.testing.assert_allclose(windows[1][1], [[210, 250, 2]])
    np.testing.assert_allclose(windows[2][1], [[196, 236, 2]])
    assert th == 40


def test_real_thumos_window_counts(shared_data):
    from mmloc.datasets.thumos_afsd_dataset import ThumosAFSDDataset
    d = shared_data / 'thumos14' / 'afsd'
    train = ThumosAFSDDataset(ann_file=str(d / 'val_Annotation_ours.csv'),
                              video_info_file=str(d / 'val_video_info.csv'),
                              class_index_file=str(d / 'Class_Index_Detection.txt'), pipeline=[])
    assert len(train) == 7842
    assert max(len(train.get_data_info(i)['window_gts']) for i in range(len(train))) == 26
    assert train.metainfo['classes'][0] == 'BaseballPitch' and len(train.metainfo['classes']) == 20
    test = ThumosAFSDDataset(ann_file=str(d / 'test_Annotation_ours.csv'),
                             video_info_file=str(d / 'test_video_info.csv'),
                             class_index_file=str(d / 'Class_Index_Detection.txt'), pipeline=[],
                             test_mode=True)
    assert len(test) == 212
    assert sum(len(window_offsets(test.get_data_info(i)['sample_count'], 256, 128))
               for i in range(len(test))) == 3485


@pytest.mark.parametrize('seed', range(12))
def test_contrastive_clip_moves_frames_only(seed):
    rng = np.random.default_rng(seed)
    frames = np.arange(64)[:, None] * np.ones((1, 2), np.int64)  # frame id in every "pixel"
    gts = np.array([[5.0, 25.0, 1], [40.0, 50.0, 2]])
    out, segs = contrastive_clip(frames, gts, th=4, rng=rng)
    assert out is not None
    # A permutation-with-duplicates of frames: only frame order changes, within the clip.
    assert out.shape == frames.shape and set(out[:, 0]) <= set(frames[:, 0])
    p1, p2, bg = segs
    # Segments: the inserted background is listed without its outer frames, so it occupies
    # frames bg0-1 .. bg1 (th frames) and the two action parts are th frames apart.
    assert bg[1] - bg[0] == 4 - 2
    assert p2[0] - p1[1] == 4
    inserted = out[int(bg[0]) - 1:int(bg[1]) + 1, 0]
    assert len(inserted) == 4 and np.all(np.diff(inserted) == 1)
    assert not np.any([(5 <= f < 25) or (40 <= f < 50) for f in inserted])
    # Every original frame but the moved ones keeps its place outside the shifted span.
    lo, hi = min(p1[1], int(inserted.min())), max(p2[0], int(inserted.max()) + 1)
    untouched = [i for i in range(64) if i < lo or i >= hi + 4]
    assert np.array_equal(out[untouched, 0], frames[untouched, 0])


def test_contrastive_clip_fails_cleanly_without_long_action():
    out, segs = contrastive_clip(np.zeros((32, 1)), np.array([[5.0, 9.0, 1]]), th=4,
                                 rng=np.random.default_rng(0))
    assert out is None and segs is None
