"""Segments and TimeGrid: unit conversions against the specs' formulas and golden values."""
import numpy as np
import pytest
import torch

from mmloc.structures import (Segments, TimeGrid, TimeUnit, corrected_second,
                              output_duration_s, pairwise_temporal_iou)


def test_actionformer_golden_time_grid():
    # actionformer-spec §9.7: THUMOS (fps 30, stride 4, 16 frames)
    grid = TimeGrid.from_features(num_steps=100, fps=30, feat_stride=4, feat_num_frames=16)
    seg = Segments(np.array([[10.0, 12.5], [0.0, 1.0]]), 'second').to('index', grid)
    np.testing.assert_allclose(seg.numpy(), [[73, 91.75], [-2, 5.5]], atol=1e-9)
    assert grid.index_to_seconds(73) == pytest.approx(10.0)
    # ANet, 112 features, no resize (TD): stride 16, window 16
    # spec numbers: g = t * fps / 16 - 0.5 with fps 15 (30 s -> 27.625)
    grid = TimeGrid.from_features(112, fps=15.0, feat_stride=16, feat_num_frames=16)
    got = Segments([[30, 60], [100, 110]], 'second').to('index', grid).numpy()
    np.testing.assert_allclose(got, [[27.625, 55.75], [93.25, 102.625]])


def test_actionformer_golden_resize_to_192():
    # actionformer-spec §9.7: 112 TSP features (stride 16, 16 frames) resized to 192
    grid = TimeGrid.from_features(112, fps=15.0, feat_stride=16, feat_num_frames=16).resized(192)
    assert grid.stride_frames == pytest.approx((111 * 16 + 16) / 192)
    got = Segments([[30, 60], [100, 110]], 'second').to('index', grid).numpy()
    np.testing.assert_allclose(got, [[47.714287, 95.928574], [160.21429, 176.28572]], rtol=1e-6)


def test_activitynet_grid_is_bit_identical_to_mmaction2_formulas():
    rng = np.random.default_rng(0)
    for _ in range(200):
        duration_frame = int(rng.integers(50, 5000))
        duration_second = float(rng.uniform(5, 300))
        feature_frame = int(duration_frame // 16 * 16 + rng.choice([0, -16, 16]))
        feature_frame = max(16, feature_frame)
        grid = TimeGrid.from_activitynet(100, duration_second, duration_frame, feature_frame)
        seg_s = rng.uniform(0, duration_second, size=(5, 2))
        cs = feature_frame / duration_frame * duration_second
        assert np.array_equal(Segments(seg_s, 'second').to('normalised', grid).numpy(),
                              seg_s / cs)
        u = rng.uniform(0, 1, size=(5, 2))
        out = (duration_frame // 16) * 16 / duration_frame * duration_second
        assert np.array_equal(Segments(u, 'normalised').to('second', grid).numpy(), u * out)
        assert grid.span_s == corrected_second(duration_second, duration_frame, feature_frame)
        assert grid.output_span_s == output_duration_s(duration_second, duration_frame, 16)


def test_frame_grid_matches_ssn_relative_seconds():
    grid = TimeGrid.from_frames(num_frames=1234, duration_s=41.2)
    frames = np.array([[10.0, 300.0], [0.0, 1234.0]])
    got = Segments(frames, 'index').to('normalised', grid).to('second', grid).numpy()
    assert np.array_equal(got, frames / 1234 * 41.2)


def test_round_trips_and_tensor_backing():
    grid = TimeGrid.from_features(64, fps=25, feat_stride=8, feat_num_frames=16, duration_s=20)
    seg = Segments(torch.tensor([[1.0, 3.5], [7.25, 19.0]], dtype=torch.float64), 'second')
    for unit in TimeUnit:
        back = seg.to(unit, grid).to('second', grid)
        assert isinstance(back.data, torch.Tensor)
        torch.testing.assert_close(back.data, seg.data)
    assert Segments(np.zeros((0, 2)), 'second').to('index', grid).numpy().shape == (0, 2)


def test_overlaps_need_the_same_unit_and_equal_the_pairwise_functions():
    a = Segments([[0, 10], [5, 6]], 'second')
    b = Segments([[1, 11], [20, 30]], 'second')
    assert np.array_equal(a.iou(b), pairwise_temporal_iou(a.numpy(), b.numpy()))
    assert a.iou(b)[0, 0] == pytest.approx(9 / 11)
    assert a.iop(b)[1, 0] == 1.0
    with pytest.raises(ValueError, match='units differ'):
        a.iou(Segments([[0, 1]], 'normalised'))
    with pytest.raises(ValueError, match='TimeGrid'):
        a.to('index')
    with pytest.raises(ValueError, match=r'\(N, 2\)'):
        Segments(np.zeros((3, 3)), 'second')
    np.testing.assert_array_equal(Segments([[-1, 2]], 'normalised').clip(0, 1).numpy(), [[0, 1]])


def test_window_crop_and_resize_keep_seconds():
    grid = TimeGrid.from_features(200, fps=30, feat_stride=4, feat_num_frames=16)
    win = grid.cropped(50, 64)
    assert win.index_to_seconds(0) == pytest.approx(grid.index_to_seconds(50))
    half = TimeGrid.from_frames(100, duration_s=10.0).resized(50)
    assert half.index_to_seconds(25) == pytest.approx(5.0)
    anet = TimeGrid.from_activitynet(100, 50.0, 1500, 1488).resized(25)
    assert anet.index_to_seconds(25) == pytest.approx(TimeGrid.from_activitynet(
        100, 50.0, 1500, 1488).index_to_seconds(100))
