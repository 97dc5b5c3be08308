"""Frame sampling per proposal stage for SSN (spec §5.3) and test-time proposal ticks (§5.4).

Units: frame offsets are 0-based frame indices; ``frame_inds`` are 1-based (``offset mod
total_frames + start_index``); ``relative`` boundaries are fractions of the video length;
ticks index the test-time sampled frames.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from mmloc.registry import TRANSFORMS
from mmloc.structures import Segments, TimeGrid


def stage_offsets(length: int, num_segments: int, mode: str,
                  rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """Offsets of ``num_segments`` snippets over a stage of ``length`` frames.

    ``train``: ``avg = (length + 1) // n``; ``arange(n) * avg + randint(avg)`` when
    ``avg > 0`` else zeros. ``val``: centres ``int(arange(n) * length / n + length / (2n))``
    when ``length >= n`` else zeros. Returns (n,) int64.
    """
    if mode == 'train':
        avg = (length + 1) // num_segments
        if avg > 0:
            # None -> the global numpy RNG, which mmengine seeds per dataloader worker.
            jitter = (np.random.randint(avg, size=num_segments) if rng is None
                      else rng.integers(0, avg, size=num_segments))
            return np.arange(num_segments) * avg + jitter
        return np.zeros(num_segments, np.int64)
    if mode == 'val':
        if length >= num_segments:
            avg = length / float(num_segments)
            return (np.arange(num_segments) * avg + avg / 2.0).astype(np.int64)
        return np.zeros(num_segments, np.int64)
    raise ValueError(f'stage_offsets: mode must be "train" or "val", got {mode!r}')


def proposal_stage_geometry(start: int, end: int, num_frames: int, ori_clip_len: int = 1,
                            aug_ratio: Tuple[float, float] = (0.5, 0.5)) -> dict:
    """Starting/course/ending stage extents of one proposal ``[start, end)`` (frames).

    Returns ``valid_start``, ``start_len``, ``course_len``, ``end_len`` and the scale
    factors ``sf_start = (start_len + ori + 1) / (d * r0)``, ``sf_end`` likewise (spec §5.2).
    """
    d = end - start
    valid_start = max(0, start - int(d * aug_ratio[0]))
    valid_end = min(num_frames - ori_clip_len + 1, end - 1 + int(d * aug_ratio[1]))
    start_len = start - valid_start - ori_clip_len
    end_len = valid_end - end + 1 - ori_clip_len
    return dict(valid_start=valid_start, start_len=start_len, course_len=d - ori_clip_len,
                end_len=end_len,
                sf_start=(start_len + ori_clip_len + 1) / (d * aug_ratio[0]),
                sf_end=(end_len + ori_clip_len + 1) / (d * aug_ratio[1]))


def sample_proposal_frames(segments: np.ndarray, num_frames: int, mode: str = 'train',
                           body_segments: int = 5, aug_segments: Tuple[int, int] = (2, 2),
                           aug_ratio: Tuple[float, float] = (0.5, 0.5), clip_len: int = 1,
                           frame_interval: int = 1, start_index: int = 1,
                           rng: Optional[np.random.Generator] = None):
    """Frame indices for every proposal: starting, course, ending stages.

    Args:
        segments: (P, 2) int frame boundaries ``[start, end)``.

    Returns:
        frame_inds (P * (a0 + body + a1) * clip_len,) int64 1-based, and
        scale_factors (P, 2) float32 ``[sf_start, sf_end]``.
    """
    ori = clip_len * frame_interval
    offsets, factors = [], []
    for start, end in np.asarray(segments, np.int64).reshape(-1, 2):
        g = proposal_stage_geometry(int(start), int(end), num_frames, ori, aug_ratio)
        offsets.append(np.concatenate([
            stage_offsets(g['start_len'], aug_segments[0], mode, rng) + g['valid_start'],
            stage_offsets(g['course_len'], body_segments, mode, rng) + start,
            stage_offsets(g['end_len'], aug_segments[1], mode, rng) + end]))
        factors.append((g['sf_start'], g['sf_end']))
    offsets = np.concatenate(offsets) if offsets else np.zeros(0, np.int64)
    inds = (offsets[:, None] + np.arange(clip_len)[None] * frame_interval).reshape(-1)
    return (np.mod(inds, num_frames) + start_index).astype(np.int64), \
        np.asarray(factors, np.float32).reshape(-1, 2)


def sample_test_frames(num_frames: int, test_interval: int = 6, ori_clip_len: int = 1,
                    start_index: int = 1) -> np.ndarray:
    """Test-time frames: ``arange(0, num_frames - ori, test_interval) + start_index``."""
    return np.arange(0, num_frames - ori_clip_len, test_interval, dtype=np.int64) + start_index


def proposal_test_ticks(relative: np.ndarray, num_ticks: int,
                        aug_ratio: Tuple[float, float] = (0.5, 0.5)):
    """Ticks and scale factors of proposals over the sampled test frames (spec §5.4).

    Args:
        relative: (P, 2) proposal ``[s, e]`` as fractions of the video.
        num_ticks: number of sampled test frames ``n``.

    Returns:
        ticks (P, 4) int32 ``(max(0, s - r0 d), s, e, min(1, e + r1 d)) * n`` and
        scale factors (P, 2) float32 ``[(s - left) / (r0 d), (right - e) / (r1 d)]``.
    """
    rel = np.asarray(relative, np.float64).reshape(-1, 2)
    s, e = rel[:, 0], rel[:, 1]
    d = e - s
    left = np.maximum(0.0, s - d * aug_ratio[0])
    right = np.minimum(1.0, e + d * aug_ratio[1])
    ticks = (np.stack([left, s, e, right], 1) * num_ticks).astype(np.int32)
    with np.errstate(divide='ignore', invalid='ignore'):
        sf = np.stack([(s - left) / (d * aug_ratio[0]), (right - e) / (d * aug_ratio[1])], 1)
    return ticks, np.nan_to_num(sf).astype(np.float32)


def _frame_grid(results: dict, num_frames: int) -> TimeGrid:
    """The video's frame grid (``results['time_grid']``, set by the SSN datasets), or one
    built from ``fps`` (frame -> normalised is ``frame / num_frames`` either way)."""
    grid = results.get('time_grid')
    if grid is not None and grid.num_steps == num_frames:
        return grid
    return TimeGrid.from_fps(results.get('fps') or 1.0, num_frames=num_frames)


@TRANSFORMS.register_module()
class SampleProposalFrames:
    """Sample frames for SSN (MMAction2 0.x ``SampleProposalFrames``).

    Reads ``proposal_segments`` (P, 2) frames and ``total_frames``; writes ``frame_inds``
    (1-based). Train/val: 9 frames per proposal (2 + 5 + 2) and ``proposal_scale_factor``
    (P, 2). Test: frames every ``test_interval``, ``relative_proposals`` (P, 2) float32
    (frames -> normalised on the video's frame grid), ``proposal_ticks`` (P, 4) int64 and
    ``proposal_scale_factor`` (P, 2).
    """

    def __init__(self, body_segments: int = 5, aug_segments: Sequence[int] = (2, 2),
                 aug_ratio: Sequence[float] = (0.5, 0.5), clip_len: int = 1,
                 frame_interval: int = 1, test_interval: int = 6, mode: str = 'train',
                 seed: Optional[int] = None):
        if mode not in ('train', 'val', 'test'):
            raise ValueError(f'SampleProposalFrames: mode must be train/val/test, got {mode!r}')
        self.body_segments = body_segments
        self.aug_segments = tuple(aug_segments)
        self.aug_ratio = tuple(aug_ratio)
        self.clip_len = clip_len
        self.frame_interval = frame_interval
        self.test_interval = test_interval
        self.mode = mode
        # None: global numpy RNG (seeded per worker by mmengine); an int: reproducible.
        self.rng = None if seed is None else np.random.default_rng(seed)

    def __call__(self, results: dict) -> dict:
        n = int(results['total_frames'])
        start_index = int(results.get('start_index', 1))
        segs = np.asarray(results['proposal_segments'], np.int64).reshape(-1, 2)
        if self.mode == 'test':
            inds = sample_test_frames(n, self.test_interval, self.clip_len * self.frame_interval,
                                   start_index)
            if len(inds) == 0:
                raise ValueError(f'video {results.get("video_id")}: {n} frames is too short '
                                 'to sample test frames')
            rel = Segments(segs, 'index').to('normalised', _frame_grid(results, n)).numpy()
            ticks, sf = proposal_test_ticks(rel, len(inds), self.aug_ratio)
            results.update(frame_inds=inds, relative_proposals=rel.astype(np.float32),
                           proposal_ticks=ticks.astype(np.int64), proposal_scale_factor=sf)
        else:
            inds, sf = sample_proposal_frames(
                segs, n, self.mode, self.body_segments, self.aug_segments, self.aug_ratio,
                self.clip_len, self.frame_interval, start_index, self.rng)
            results.update(frame_inds=inds, proposal_scale_factor=sf)
        results['clip_len'] = self.clip_len
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(body_segments={self.body_segments}, '
                f'aug_segments={self.aug_segments}, mode={self.mode!r})')
