"""Snippet sampling: which frames of the (resampled) video make up snippet ``i``.

On a video resampled to ``fps`` (frame ``k`` at ``k / fps`` seconds), snippet ``i`` spans the
``window`` frames ``[i * stride, i * stride + window)`` and the model sees
``frames_per_snippet`` of them, spread evenly over the window
(``i * stride + floor((j + 0.5) * window / frames_per_snippet)``, ``j < frames_per_snippet``;
all of them when ``frames_per_snippet == window``). Only whole windows make snippets, so a
video of ``N`` frames gives ``T = (N - window) // stride + 1`` snippets (none when
``N < window``). Grid position ``i`` is the snippet's centre, ``(i * stride + window / 2) / fps``
seconds: :meth:`mmloc.structures.TimeGrid.from_features` with ``feat_stride = stride`` and
``feat_num_frames = window``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable, Iterator, Optional, Tuple

import numpy as np

from .decode import DecodedFrame, VideoError


@dataclass(frozen=True)
class SnippetSampling:
    """Explicit snippet geometry, in frames of the video resampled to ``fps``.

    Attributes:
        fps: frame rate the video is resampled to (by timestamps); None: the video's own
            average rate.
        window: frames a snippet spans.
        stride: frames between the starts of consecutive snippets.
        frames_per_snippet: frames given to the model per snippet (evenly spread in the
            window; 1 for a 2-D model's middle frame).
    """

    fps: Optional[float] = None
    window: int = 16
    stride: int = 16
    frames_per_snippet: int = 16

    def __post_init__(self) -> None:
        for name in ('window', 'stride', 'frames_per_snippet'):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f'SnippetSampling: {name} must be a positive integer, got '
                                 f'{value!r}')
            object.__setattr__(self, name, int(value))
        if self.frames_per_snippet > self.window:
            raise ValueError(f'SnippetSampling: frames_per_snippet ({self.frames_per_snippet}) '
                             f'cannot exceed the window ({self.window})')
        if self.fps is not None and not self.fps > 0:
            raise ValueError(f'SnippetSampling: fps must be > 0, got {self.fps!r}')

    def frame_offsets(self) -> np.ndarray:
        """(frames_per_snippet,) int offsets of the model's frames inside a window."""
        j = np.arange(self.frames_per_snippet)
        return np.floor((j + 0.5) * self.window / self.frames_per_snippet).astype(np.int64)

    def num_snippets(self, num_frames: int) -> int:
        """T: whole windows in ``num_frames`` frames (0 when shorter than one window)."""
        if num_frames < self.window:
            return 0
        return (int(num_frames) - self.window) // self.stride + 1

    def snippet_frames(self, snippet_idx: int) -> np.ndarray:
        """(frames_per_snippet,) frame indices of snippet ``snippet_idx``."""
        return snippet_idx * self.stride + self.frame_offsets()

    def with_fps(self, fps: float) -> 'SnippetSampling':
        return SnippetSampling(float(fps), self.window, self.stride, self.frames_per_snippet)

    def to_dict(self) -> dict:
        return asdict(self)


def iter_snippets(frames: Iterable[DecodedFrame], sampling: SnippetSampling,
                  label: str = '<video>') -> Iterator[Tuple[int, np.ndarray, DecodedFrame]]:
    """Group a frame stream (consecutive output indices ``k = 0, 1, ...``) into snippets.

    Only frames a coming snippet needs are kept (at most ``window`` of them), so memory does
    not depend on the video's length.

    Yields:
        ``(snippet_idx, clip, first)``: ``clip`` uint8 (frames_per_snippet, H, W, 3), ``first``
        the frame at the window's start (``k = snippet_idx * stride``: its source time).

    Raises:
        VideoError: the stream ended before one whole window (naming ``label``).
    """
    offsets = sampling.frame_offsets()
    offset_set = set(int(o) for o in offsets)
    stride, window = sampling.stride, sampling.window
    kept: dict = {}
    starts: dict = {}
    i = 0
    seen = 0
    for frame in frames:
        k = frame.index
        if k != seen:
            raise VideoError(f'{label}: frame indices must be consecutive (expected {seen}, '
                             f'got {k})')
        seen += 1
        if k % stride == 0:
            starts[k] = frame
        j_lo = max(i, (k - window) // stride)
        if any(0 <= k - j * stride < window and (k - j * stride) in offset_set
               for j in range(j_lo, k // stride + 1)):
            kept[k] = frame.rgb
        while i * stride + window - 1 <= k:
            idx = i * stride + offsets
            clip = np.stack([kept[int(x)] for x in idx])
            yield i, clip, starts.pop(i * stride)
            i += 1
            for old in [x for x in kept if x < i * stride]:
                del kept[old]
            for old in [x for x in starts if x < i * stride]:
                del starts[old]
    if i == 0:
        fps = f' at {sampling.fps:g} fps' if sampling.fps else ''
        raise VideoError(f'{label}: the video is shorter than one snippet: {seen} frame(s)'
                         f'{fps}, a snippet spans {window} frames')
