"""The time grid of one video: the one place where seconds <-> grid arithmetic lives.

Four units (see :class:`~mmloc.structures.TimeUnit`):

* ``second``: seconds of the video.
* ``normalised``: positions in [0, 1] along the model's feature axis (BMN/BSN, SSN's
  "relative" boundaries).
* ``index``: feature/snippet (or frame) grid positions ``g`` in ``[0, num_steps)``, float.
* ``frame``: frame-time of the source video (frame ``f`` occupies ``[f, f + 1)``).

The formulas (each written once, here):

* ``index -> seconds``: ``t = (g * stride_frames + offset_frames) / fps`` (ActionFormer's
  FAQ: feature ``i`` covers frames ``i * stride ... i * stride + window - 1``, centred at
  ``i * stride + window / 2``, so ``offset_frames = window / 2``).
* ``seconds -> index``: ``g = t * fps / stride_frames - offset_frames / stride_frames``.
* ``seconds -> normalised``: ``u = t / span_s``; ``normalised -> seconds``:
  ``t = u * output_span_s``. For ActivityNet the two spans differ (spec §1.3, kept for
  parity with MMAction2 and the BSN/BMN papers): labels divide by ``corrected_second =
  feature_frame / duration_frame * duration_second``, outputs multiply by
  ``(duration_frame // interval) * interval / duration_frame * duration_second``.
* ``normalised <-> index``: ``g = u * num_steps``, ``u = g / num_steps``.
* ``frame <-> seconds``: ``t = f / fps``, ``f = t * fps``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np


def corrected_second(duration_second: float, duration_frame: int,
                     feature_frame: int) -> float:
    """Seconds covered by the features: ``feature_frame / duration_frame * duration_second``."""
    return float(feature_frame) / float(duration_frame) * float(duration_second)


def output_duration_s(duration_second: float, duration_frame: int,
                      feature_extraction_interval: int = 16) -> float:
    """Seconds that normalised outputs are scaled by (spec §1.3, "output seconds")."""
    covered = (int(duration_frame) // feature_extraction_interval) * feature_extraction_interval
    return float(covered) / float(duration_frame) * float(duration_second)


@dataclass(frozen=True)
class TimeGrid:
    """Seconds <-> grid positions of one video (see the module docstring for the formulas).

    Attributes:
        num_steps: T, grid positions of the model input (after any resize).
        fps: frames per second of the source video.
        stride_frames: frames between two consecutive grid positions.
        offset_frames: frame-time of grid position 0 (``0.5 * window`` for centred
            snippet features, 0 for BMN/BSN's start-aligned grid).
        span_s: seconds that normalised position 1.0 stands for, seconds -> normalised.
        output_span_s: seconds that normalised 1.0 maps back to (defaults to ``span_s``).
        duration_s: duration of the video in seconds (clipping), or None.
    """

    num_steps: int
    fps: float
    stride_frames: float
    offset_frames: float = 0.0
    span_s: Optional[float] = None
    output_span_s: Optional[float] = None
    duration_s: Optional[float] = None

    def __post_init__(self) -> None:
        if not self.num_steps > 0:
            raise ValueError(f'TimeGrid: num_steps must be > 0, got {self.num_steps}')
        if not (self.fps > 0 and self.stride_frames > 0):
            raise ValueError(f'TimeGrid: fps ({self.fps}) and stride_frames '
                             f'({self.stride_frames}) must be > 0')
        if self.span_s is None:
            span = (self.num_steps * self.stride_frames) / self.fps
            object.__setattr__(self, 'span_s', float(span))
        if self.output_span_s is None:
            object.__setattr__(self, 'output_span_s', float(self.span_s))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_activitynet(cls, num_steps: int, duration_second: float, duration_frame: int,
                         feature_frame: int, feature_extraction_interval: int = 16
                         ) -> 'TimeGrid':
        """The MMAction2 ActivityNet grid (spec §1.3): T positions over ``feature_frame`` frames.

        Labels use ``corrected_second``; outputs ``output_duration_s`` (they differ for a
        third of ActivityNet; both are kept for parity).
        """
        fps = float(duration_frame) / float(duration_second)
        return cls(num_steps=int(num_steps), fps=fps,
                   stride_frames=float(feature_frame) / float(num_steps), offset_frames=0.0,
                   span_s=corrected_second(duration_second, duration_frame, feature_frame),
                   output_span_s=output_duration_s(duration_second, duration_frame,
                                                   feature_extraction_interval),
                   duration_s=float(duration_second))

    @classmethod
    def from_features(cls, num_steps: int, fps: float, feat_stride: float,
                      feat_num_frames: float, duration_s: Optional[float] = None
                      ) -> 'TimeGrid':
        """Snippet features every ``feat_stride`` frames, each over ``feat_num_frames`` frames.

        Position ``g`` is the centre of its snippet: ``t = (g * stride + window / 2) / fps``
        (ActionFormer's convention). ``span_s`` is ``num_steps * stride / fps``.
        """
        return cls(num_steps=int(num_steps), fps=float(fps), stride_frames=float(feat_stride),
                   offset_frames=0.5 * float(feat_num_frames),
                   duration_s=None if duration_s is None else float(duration_s))

    @classmethod
    def from_frames(cls, num_frames: int, duration_s: float, fps: Optional[float] = None
                    ) -> 'TimeGrid':
        """One grid position per frame (SSN): normalised ``u = frame / num_frames`` and
        seconds ``u * duration_s`` (MMAction2 0.x's ``frame / total_frames * duration``)."""
        fps = float(fps) if fps else float(num_frames) / float(duration_s)
        return cls.from_fps(fps, num_frames=num_frames, duration_s=duration_s)

    @classmethod
    def from_fps(cls, fps: float, num_frames: Optional[int] = None,
                 duration_s: Optional[float] = None) -> 'TimeGrid':
        """One grid position per frame of a ``fps`` stream: index ``g`` is frame ``g`` and
        ``t = g / fps`` (SSN's frame boundaries of annotations in seconds, AFSD's resampled
        frames; ``cropped(offset, L)`` gives a window's grid, ``t = (g + offset) / fps``).

        ``num_frames`` defaults to ``round(duration_s * fps)`` (Python rounding: the frame
        count of an annotation without ``duration_frame``). ``duration_s``, when given, is
        the normalised span and the clipping bound; otherwise the span is ``num_frames / fps``.
        """
        fps = float(fps)
        if num_frames is None:
            if duration_s is None:
                raise ValueError('TimeGrid.from_fps: give num_frames or duration_s')
            num_frames = round(float(duration_s) * fps)
        span = None if duration_s is None else float(duration_s)
        return cls(num_steps=int(num_frames), fps=fps, stride_frames=1.0, offset_frames=0.0,
                   span_s=span, output_span_s=span, duration_s=span)

    @classmethod
    def from_span(cls, span_s: float, num_steps: int = 1) -> 'TimeGrid':
        """Normalised positions over ``span_s`` seconds (``t = u * span_s`` both ways), for
        callers that know only that span."""
        span_s = float(span_s)
        stride = span_s / num_steps if span_s > 0 else 1.0
        return cls(num_steps=int(num_steps), fps=1.0, stride_frames=stride, span_s=span_s,
                   output_span_s=span_s)

    @classmethod
    def from_metainfo(cls, meta: dict, num_steps: int, feature_extraction_interval: int = 16
                      ) -> 'TimeGrid':
        """The grid of a data sample: its ``time_grid`` when the pipeline set one, else the
        ActivityNet grid of its ``duration_second`` / ``duration_frame`` / ``feature_frame``
        (``feature_frame`` defaults to ``duration_frame``)."""
        if meta.get('time_grid') is not None:
            return meta['time_grid']
        missing = [k for k in ('duration_second', 'duration_frame') if k not in meta]
        if missing:
            raise ValueError(f"video {meta.get('video_name', '?')}: metainfo lacks {missing} "
                             '(add them to the meta_keys of PackLocalizationInputs) and has no '
                             'time_grid')
        return cls.from_activitynet(num_steps, meta['duration_second'], meta['duration_frame'],
                                    meta.get('feature_frame', meta['duration_frame']),
                                    feature_extraction_interval)

    def resized(self, num_steps: int) -> 'TimeGrid':
        """The same frames on ``num_steps`` positions (features resized to a fixed T).

        Start-aligned grids (``offset_frames == 0``, BMN/BSN cells) scale the stride:
        ``stride' = T * stride / T'``. Centred snippet grids follow ActionFormer's rule
        (actionformer-spec §1.3): the frames covered by the features,
        ``(T - 1) * stride + window`` with ``window = 2 * offset``, are split into ``T'``
        cells, ``stride' = window' = covered / T'`` and ``offset' = stride' / 2``.
        """
        if self.offset_frames == 0:
            stride = self.stride_frames * self.num_steps / float(num_steps)
            return replace(self, num_steps=int(num_steps), stride_frames=stride)
        covered = (self.num_steps - 1) * self.stride_frames + 2 * self.offset_frames
        stride = covered / float(num_steps)
        return replace(self, num_steps=int(num_steps), stride_frames=stride,
                       offset_frames=0.5 * stride)

    def cropped(self, start_index: int, num_steps: int) -> 'TimeGrid':
        """The grid of positions ``[start_index, start_index + num_steps)`` (a window)."""
        offset = self.offset_frames + start_index * self.stride_frames
        span_s = num_steps * self.stride_frames / self.fps
        return replace(self, num_steps=int(num_steps), offset_frames=offset, span_s=span_s,
                       output_span_s=span_s)

    # ------------------------------------------------------------------ conversions
    def seconds_to_normalised(self, t_s):
        """``u = t / span_s`` (labels, GT matching)."""
        return t_s / self.span_s

    def normalised_to_seconds(self, u):
        """``t = u * output_span_s`` (outputs back to seconds)."""
        return u * self.output_span_s

    def seconds_to_index(self, t_s):
        """``g = t * fps / stride - offset / stride`` (float grid position)."""
        return t_s * self.fps / self.stride_frames - self.offset_frames / self.stride_frames

    def index_to_seconds(self, g):
        """``t = (g * stride + offset) / fps``."""
        return (g * self.stride_frames + self.offset_frames) / self.fps

    def normalised_to_index(self, u):
        return u * self.num_steps

    def index_to_normalised(self, g):
        return g / self.num_steps

    def seconds_to_frame(self, t_s):
        return t_s * self.fps

    def frame_to_seconds(self, f):
        return f / self.fps

    def clip_seconds(self, t_s):
        """Clamp seconds to ``[0, duration_s]`` (no-op on the upper side without a duration)."""
        hi = np.inf if self.duration_s is None else self.duration_s
        if hasattr(t_s, 'clamp'):
            return t_s.clamp(0.0, hi)
        return np.clip(t_s, 0.0, hi)
