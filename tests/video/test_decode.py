"""Video decoding: timestamps from pts, VFR, resampling by time, RGB, streaming, bad files."""
import os
import tracemalloc

import numpy as np
import pytest

from mmloc.testing.synthetic_video import CLASS_COLOURS, render_frame, write_video
from mmloc.video import (SnippetSampling, VideoError, iter_frames, iter_snippets,
                         probe_video)


@pytest.fixture(scope='module')
def cfr(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('cfr') / 'cfr.mp4')
    times = write_video(path, 3.0, 10, [(0.5, 2.0, 0)], size=(64, 48))
    return path, times


def test_timestamps_are_the_encoded_pts(cfr):
    path, times = cfr
    frames = list(iter_frames(path))
    np.testing.assert_allclose([f.time_s for f in frames], times, atol=1e-9)
    assert [f.source_index for f in frames] == list(range(len(times)))
    info = probe_video(path)
    assert (info.width, info.height, info.average_fps) == (64, 48, 10.0)


def test_rgb_content_matches_the_rendered_shape(cfr):
    path, _ = cfr
    frames = list(iter_frames(path))
    assert frames[0].rgb.dtype == np.uint8 and frames[0].rgb.shape == (48, 64, 3)
    # frame 10 (t = 1.0 s) shows class 0's red square; frame 0 is background only
    expected = render_frame(1.0, [(0.5, 2.0, 0)], (64, 48))
    mask = (expected == CLASS_COLOURS[0]).all(-1)
    got = frames[10].rgb.astype(int)
    assert mask.sum() > 50
    assert np.abs(got[mask] - CLASS_COLOURS[0]).mean() < 25       # red, not BGR
    assert np.abs(frames[0].rgb.astype(int) - 110).mean() < 8


def test_resampling_by_timestamps_and_resize(cfr):
    path, times = cfr
    frames = list(iter_frames(path, fps=5, short_side=24))
    assert len(frames) == 15 and frames[0].rgb.shape == (24, 32, 3)
    assert [f.source_index for f in frames] == list(range(0, 30, 2))
    up = list(iter_frames(path, fps=20))
    assert len(up) == 60
    assert [f.source_index for f in up[:6]] == [0, 0, 1, 1, 2, 2]
    np.testing.assert_allclose([f.time_s for f in up[:3]], [0, 0.05, 0.1])


def test_variable_frame_rate_uses_timestamps(tmp_path):
    path = str(tmp_path / 'vfr.mp4')
    pts = [0.0, 0.1, 0.3, 0.35, 0.5, 0.9, 1.0]
    write_video(path, 0, 10, [(0.3, 0.9, 1)], pts_s=pts)
    frames = list(iter_frames(path))
    np.testing.assert_allclose([f.time_s for f in frames], pts, atol=1e-4)
    resampled = list(iter_frames(path, fps=10))
    # output frame k at k/10 s shows the last source frame with time <= k/10
    expected = [int(np.searchsorted(pts, k / 10 + 1e-6, side='right') - 1)
                for k in range(len(resampled))]
    assert [f.source_index for f in resampled] == expected
    assert expected[:6] == [0, 1, 1, 2, 3, 4]


def test_streaming_memory_does_not_grow_with_length(tmp_path):
    path = str(tmp_path / 'long.mp4')
    write_video(path, 40.0, 10, [(5, 20, 2)], size=(96, 64), seed=None)
    sampling = SnippetSampling(10, 16, 16, 16)
    tracemalloc.start()
    n = 0
    for i, clip, first in iter_snippets(iter_frames(path, fps=10), sampling, path):
        n += 1
        if n == 3:
            _, peak_early = tracemalloc.get_traced_memory()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert n == 25
    frame_bytes = 96 * 64 * 3
    # a window of frames plus the clip, never the 400 frames of the video
    assert peak < 60 * frame_bytes + 2_000_000, peak
    assert peak < 2 * peak_early + 1_000_000


def test_snippets_geometry(cfr):
    path, times = cfr
    sampling = SnippetSampling(10, window=8, stride=4, frames_per_snippet=2)
    out = list(iter_snippets(iter_frames(path), sampling, path))
    assert len(out) == sampling.num_snippets(30) == 6
    np.testing.assert_array_equal(sampling.frame_offsets(), [2, 6])
    assert [first.index for _, _, first in out] == [0, 4, 8, 12, 16, 20]
    assert all(c.shape == (2, 48, 64, 3) for _, c, _ in out)
    frames = list(iter_frames(path))
    np.testing.assert_array_equal(out[1][1][0], frames[6].rgb)


# ---------------------------------------------------------------- bad input
def _expect(path, match, exc=VideoError, **kw):
    with pytest.raises(exc, match=match) as info:
        list(iter_frames(path, **kw))
    assert str(info.value).startswith(str(path))


def test_corrupt_file(tmp_path):
    path = tmp_path / 'noise.mp4'
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    _expect(path, 'not a readable video container')


def test_truncated_files(tmp_path, cfr):
    data = open(cfr[0], 'rb').read()
    head = tmp_path / 'head.mp4'
    head.write_bytes(data[:len(data) // 3])     # the index (moov) is at the end: lost
    _expect(head, 'corrupt or truncated')
    # index at the front (faststart): the frames end early
    fast = str(tmp_path / 'fast.mp4')
    write_video(fast, 3.0, 10, [(0.5, 2.0, 0)], options={'movflags': 'faststart'})
    data = open(fast, 'rb').read()
    cut = tmp_path / 'cut.mp4'
    cut.write_bytes(data[:int(len(data) * 0.4)])
    with pytest.raises(VideoError, match='truncated') as info:
        list(iter_frames(str(cut)))
    assert str(info.value).startswith(str(cut))


def test_zero_length_and_missing(tmp_path):
    empty = tmp_path / 'empty.mp4'
    empty.write_bytes(b'')
    _expect(empty, 'empty file')
    _expect(tmp_path / 'nope.mp4', 'video not found', FileNotFoundError)


def test_no_video_stream(tmp_path):
    import av
    path = str(tmp_path / 'audio.m4a')
    with av.open(path, 'w') as c:
        s = c.add_stream('aac', rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format='fltp',
                                           layout='mono')
        frame.sample_rate, frame.pts = 8000, 0
        for p in list(s.encode(frame)) + list(s.encode()):
            c.mux(p)
    _expect(path, 'no video stream .*audio')


def test_unreadable_permissions(tmp_path, cfr, monkeypatch):
    path = tmp_path / 'locked.mp4'
    path.write_bytes(open(cfr[0], 'rb').read())
    if os.geteuid() != 0:
        path.chmod(0)
        _expect(path, 'permission denied', PermissionError)
        path.chmod(0o644)
    # as root every file is readable: what the check sees without read access
    monkeypatch.setattr(os, 'access', lambda p, mode: False)
    _expect(path, 'permission denied', PermissionError)


def test_shorter_than_one_snippet(tmp_path):
    path = str(tmp_path / 'short.mp4')
    write_video(path, 0.5, 10)
    with pytest.raises(VideoError, match='shorter than one snippet: 5 frame'):
        list(iter_snippets(iter_frames(path, fps=10), SnippetSampling(10, 16, 16, 16), path))
