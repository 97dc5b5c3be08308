"""Decoding a video file into RGB frames on a regular time grid, streamed in chunks (PyAV).

Time comes from the container, never from frame counts: a decoded frame's time is
``pts * time_base`` (seconds) minus the stream's origin (the first frame's time), so a
variable-frame-rate file is read by its timestamps. Resampling to ``fps`` is by timestamps
too: output frame ``k`` is at ``t_k = k / fps`` and shows the source frame on screen at that
time (the last frame whose time is ``<= t_k``); with ``fps`` equal to a constant-rate file's own
rate every source frame is taken once. Frames are converted to RGB (and resized) by FFmpeg as
they are decoded, and only the current frame is held, so memory does not grow with the video.

PyAV (``pip install av``) is imported when a video is opened, not when this module is.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator, Optional, Tuple

import numpy as np

#: timestamps closer than this (seconds) count as equal (absorbs time-base rounding)
TIME_EPS_S = 1e-6


class VideoError(ValueError):
    """A video that cannot be used; the message starts with the file name."""


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about the first video stream.

    Attributes:
        path: the file.
        width, height: frame size in pixels.
        average_fps: the stream's average frame rate (frames / second), or None.
        duration_s: the stream's (else the container's) duration in seconds, or None.
        num_frames: the frame count the container states (0 or None when unknown).
        time_base: seconds per pts tick, as a float.
    """

    path: str
    width: int
    height: int
    average_fps: Optional[float]
    duration_s: Optional[float]
    num_frames: Optional[int]
    time_base: float


@dataclass(frozen=True)
class DecodedFrame:
    """One output frame of :func:`iter_frames`.

    Attributes:
        index: k, position on the output grid (``t_k = k / fps``; native order without fps).
        time_s: ``t_k`` in seconds from the video's origin (the source frame's time without fps).
        source_time_s: ``pts * time_base - origin`` of the source frame shown (seconds).
        source_index: position of that source frame in presentation order.
        rgb: uint8 (H, W, 3).
    """

    index: int
    time_s: float
    source_time_s: float
    source_index: int
    rgb: np.ndarray


def _import_av():
    try:
        import av
    except ImportError as e:   # an optional dependency: say how to get it
        raise ImportError('video decoding needs PyAV: pip install av (or make install, which '
                          'installs requirements/optional.txt)') from e
    return av


def _check_file(path: str) -> None:
    if not os.path.exists(path):
        raise FileNotFoundError(f'{path}: video not found')
    if os.path.isdir(path):
        raise IsADirectoryError(f'{path}: is a folder, not a video file')
    if not os.access(path, os.R_OK):
        raise PermissionError(f'{path}: cannot read the video (permission denied)')
    if os.path.getsize(path) == 0:
        raise VideoError(f'{path}: empty file (0 bytes), not a video')


def _open(path: str):
    """(container, stream) of the first video stream, with errors naming the file."""
    av = _import_av()
    _check_file(path)
    try:
        container = av.open(path, 'r')
    except PermissionError:
        raise PermissionError(f'{path}: cannot read the video (permission denied)') from None
    except (av.error.FFmpegError, OSError, ValueError) as e:
        raise VideoError(f'{path}: not a readable video container, corrupt or truncated '
                         f'({e})') from None
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ['none']
        container.close()
        raise VideoError(f'{path}: the file has no video stream (streams: {", ".join(kinds)})')
    return container, container.streams.video[0]


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """The container's header facts of the first video stream (nothing decoded)."""
    path = os.fspath(path)
    container, stream = _open(path)
    try:
        return _info(path, container, stream)
    finally:
        container.close()


def _info(path, container, stream) -> VideoInfo:
    tb = float(stream.time_base) if stream.time_base else 1e-6
    duration = None
    if stream.duration:
        duration = stream.duration * tb
    elif container.duration:
        duration = container.duration / 1e6   # AV_TIME_BASE
    rate = stream.average_rate or stream.guessed_rate
    return VideoInfo(path=path, width=int(stream.codec_context.width),
                     height=int(stream.codec_context.height),
                     average_fps=float(rate) if rate else None, duration_s=duration,
                     num_frames=int(stream.frames) or None, time_base=tb)


def resized_size(width: int, height: int, short_side: Optional[int]) -> Tuple[int, int]:
    """(W', H') with the shorter side ``short_side`` and the aspect ratio kept (even sizes
    are not required: frames are RGB)."""
    if not short_side:
        return int(width), int(height)
    scale = float(short_side) / min(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _source_frames(path: str, container, stream, size) -> Iterator[Tuple[int, float, float,
                                                                          np.ndarray]]:
    """(source_index, time_s, duration_s or None, rgb) in presentation order, times from the
    first frame; frames whose time does not increase are dropped (broken timestamps)."""
    av = _import_av()
    tb = stream.time_base
    origin = None
    last_t = -np.inf
    n = 0
    width, height = size
    try:
        for frame in container.decode(stream):
            pts = frame.pts if frame.pts is not None else frame.dts
            if pts is None:
                raise VideoError(f'{path}: frame {n} has no timestamp')
            t = float(pts * (frame.time_base or tb))
            if origin is None:
                origin = t
            t -= origin
            if t <= last_t + TIME_EPS_S:
                continue
            last_t = t
            dur = float(frame.duration * (frame.time_base or tb)) if frame.duration else None
            rgb = frame.to_ndarray(format='rgb24', width=width, height=height)
            yield n, t, dur, rgb
            n += 1
    except av.error.FFmpegError as e:
        raise VideoError(f'{path}: decoding failed after {n} frame(s), corrupt or truncated '
                         f'({e})') from None


def iter_frames(path: str | os.PathLike, fps: Optional[float] = None,
                short_side: Optional[int] = None, check_truncation: bool = True
                ) -> Iterator[DecodedFrame]:
    """Stream a video's frames as RGB uint8, resampled to ``fps`` by timestamps.

    Args:
        path: the video file.
        fps: output frame rate; None yields the source frames as they are (their own times).
        short_side: resize so that the shorter side has this many pixels (done by FFmpeg
            while decoding); None keeps the size.
        check_truncation: fail when the decoded frames end well before the duration the
            container states (a truncated file).

    Yields:
        :class:`DecodedFrame` in time order. Output frame ``k`` (``t_k = k / fps``) is produced
        for every ``t_k`` before the end of the last source frame (its time plus its
        duration, else one average frame interval).

    Raises:
        FileNotFoundError / PermissionError / VideoError naming the file.
    """
    path = os.fspath(path)
    if fps is not None and not fps > 0:
        raise ValueError(f'{path}: fps must be > 0, got {fps}')
    container, stream = _open(path)
    try:
        info = _info(path, container, stream)
        size = resized_size(info.width, info.height, short_side)
        yield from _resampled(path, info, _source_frames(path, container, stream, size), fps,
                              check_truncation)
    finally:
        container.close()


def _resampled(path, info: VideoInfo, frames, fps, check_truncation):
    prev = None          # (source_index, time_s, duration, rgb) still on screen
    k = 0
    count = 0
    for src in frames:
        count += 1
        if fps is None:
            yield DecodedFrame(src[0], src[1], src[1], src[0], src[3])
            prev = src
            continue
        if prev is not None:   # prev is on screen until src starts
            while k / fps < src[1] - TIME_EPS_S:
                yield DecodedFrame(k, k / fps, prev[1], prev[0], prev[3])
                k += 1
        prev = src
    if count == 0:
        raise VideoError(f'{path}: the video stream holds no decodable frame (zero-length or '
                         'corrupt video)')
    last_dur = prev[2] or (1.0 / info.average_fps if info.average_fps else None)
    if last_dur is None:
        last_dur = 1.0 / fps if fps else 0.0
    end_s = prev[1] + last_dur
    if fps is not None:
        while k / fps < end_s - TIME_EPS_S:
            yield DecodedFrame(k, k / fps, prev[1], prev[0], prev[3])
            k += 1
    if check_truncation and info.duration_s and end_s < 0.9 * info.duration_s - 0.5:
        raise VideoError(f'{path}: truncated video: frames end at {end_s:.2f} s but the '
                         f'container states {info.duration_s:.2f} s')
