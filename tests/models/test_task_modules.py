"""Generic task modules: the sliding-window inference helper and registry building."""
import numpy as np
import pytest
import torch

from mmloc.models.task_modules import SlidingWindowInference
from mmloc.registry import TASK_UTILS
from mmloc.structures import TimeGrid, window_offsets


def test_registry_builds_every_task_module():
    for cfg in (dict(type='SSNProposalAssigner', positive_iou_threshold=0.6),
                dict(type='SSNProposalSampler', num_per_video=4),
                dict(type='SSNSlidingWindowProposals', window_frames=(8, 16)),
                dict(type='SlidingWindowInference', window=8, stride=4)):
        module = TASK_UTILS.build(cfg)
        assert type(module).__name__ == cfg['type']


def test_sliding_window_offsets_crop_pad_and_batches():
    slider = SlidingWindowInference(window=8, stride=3, batch_size=2, pad_value=-5.0)
    x = torch.arange(2 * 13, dtype=torch.float32).view(2, 13)  # (C, T)
    assert slider.offsets(13) == window_offsets(13, 8, 3) == [0, 3, 5]
    batches = []

    def forward(batch):
        batches.append(batch.shape[0])
        return batch * 10

    got = slider(x, forward, lambda out, b, off: (off, out[b].clone()))
    assert batches == [2, 1] and [off for off, _ in got] == [0, 3, 5]
    for off, clip in got:
        torch.testing.assert_close(clip, x[:, off:off + 8] * 10)
    # a short input: one window, padded after ``prepare``
    short = SlidingWindowInference(window=8, stride=4, pad_value=-1.0)
    (clip, ) = short(x[:, :5], lambda b: b, lambda out, b, off: out[b],
                     prepare=lambda c: c + 100)
    torch.testing.assert_close(clip[:, :5], x[:, :5] + 100)
    assert torch.all(clip[:, 5:] == -1.0)


def test_sliding_window_coarse_input_steps():
    # 4 grid positions (frames) per input step: starts snap down to the step grid
    slider = SlidingWindowInference(window=16, stride=6, step=4)
    assert window_offsets(40, 16, 6) == [0, 6, 12, 18, 24]
    assert slider.offsets(10) == [0, 4, 12, 16, 24]
    x = torch.arange(10.).view(1, 10)
    got = slider(x, lambda b: b, lambda out, b, off: out[b])
    assert all(c.shape == (1, 4) for c in got)
    torch.testing.assert_close(got[1], x[:, 1:5])
    with pytest.raises(ValueError, match='must be > 0'):
        SlidingWindowInference(window=0, stride=1)


def test_time_grid_from_fps():
    grid = TimeGrid.from_fps(10.0, num_frames=300)
    assert grid.num_steps == 300 and grid.span_s == pytest.approx(30.0)
    window = grid.cropped(128, 256)
    seg = np.array([[0.5, 10.0]], np.float32)
    got = window.index_to_seconds(seg)
    assert got.dtype == np.float32 and np.array_equal(got, (seg + 128) / 10.0)
    # frames from seconds: round(duration * fps) when no frame count is given
    grid = TimeGrid.from_fps(29.97, duration_s=61.3)
    assert grid.num_steps == round(61.3 * 29.97) and grid.duration_s == 61.3
    assert grid.seconds_to_frame(2.5) == 2.5 * 29.97
    assert grid.frame_to_seconds(1837) == 1837 / 29.97
    with pytest.raises(ValueError, match='num_frames or duration_s'):
        TimeGrid.from_fps(10.0)
