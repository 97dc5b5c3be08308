"""The one checking policy of every mmloc reader (results, ground truth, classifier files,
proposal text, TEM/PGM CSVs, BSP ``.npy``, feature files).

* A value that cannot be what its field says is a :class:`FormatError` naming the file, the
  video, the item and the field: a number that is not a JSON number (strings and booleans
  included), a non-finite number (``NaN``/``Infinity`` literals, or a decimal too large for
  float64 / float32 storage), a segment that is not ``[start, end]`` or ends before it starts,
  a duration <= 0, a label outside the class list, two video ids that are the same video once
  a leading ``v_`` is removed.
* Segments reaching outside ``[0, duration]`` are accepted, as the official ActivityNet
  evaluators accept them, with **one** warning per file counting them
  (:func:`warn_outside_duration`).

The helpers raise; they never print or clip.
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Iterable, Sequence

import numpy as np


class FormatError(ValueError):
    """A file does not have the expected layout (the message names file, video and field)."""


class FormatKeyError(FormatError, KeyError):
    """A missing field or an unknown label; also a ``KeyError`` for code that caught the
    ``KeyError`` these errors used to be."""

    __str__ = BaseException.__str__   # not KeyError's quoted repr


def is_number(value) -> bool:
    """A JSON number (or a numpy one from memory); ``True``/``False`` are not numbers."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_number(value, where: str, *, positive: bool = False, integer: bool = False) -> float:
    """``value`` as a finite float; ``where`` names file, video, item and field.

    Args:
        positive: the value must be > 0 (durations, frame counts, fps).
        integer: the value must be integral (``3`` or ``3.0``); returned as ``int``.
    """
    if not is_number(value):
        raise FormatError(f'{where} must be a number, got {value!r}')
    try:
        out = float(value)
    except OverflowError:     # an int with hundreds of digits
        raise FormatError(f'{where} is too large, got {value!r}') from None
    if not math.isfinite(out):
        raise FormatError(f'{where} must be finite, got {value!r}')
    if positive and not out > 0:
        raise FormatError(f'{where} must be > 0, got {value!r}')
    if integer:
        if not out.is_integer():
            raise FormatError(f'{where} must be an integer, got {value!r}')
        return int(out)
    return out


def check_segment(value, where: str) -> tuple[float, float]:
    """``[start, end]`` (two finite numbers, ``start <= end``) as floats.

    ``where`` names file, video, item and field, e.g. ``'r.json: video a item 0: "segment"'``.
    """
    if not (isinstance(value, (list, tuple)) and len(value) == 2
            and all(is_number(x) for x in value)):
        raise FormatError(f'{where} must be [start, end] in seconds, got {value!r}')
    try:
        start, end = float(value[0]), float(value[1])
    except OverflowError:
        raise FormatError(f'{where} must be finite, got {value!r}') from None
    if not (math.isfinite(start) and math.isfinite(end)):
        raise FormatError(f'{where} must be finite, got {value!r}')
    if end < start:
        raise FormatError(f'{where} ends before it starts: {value!r}')
    return start, end


def check_label(value, where: str, classes=None):
    """A class label: a string or an integer, one of ``classes`` when given.

    ``classes``: the class names; an int label is an index ``0 <= label < len(classes)``
    when ``classes`` is a sequence, else (a set, a dict) a member of it.
    """
    if isinstance(value, str):
        if classes is not None and value not in classes:
            raise FormatKeyError(f'{where} {value!r} is not one of the {len(classes)} classes')
        return value
    try:
        number = float(value) if is_number(value) else math.nan
    except OverflowError:
        number = math.nan
    if math.isfinite(number) and number.is_integer():
        label = int(number)
        known = (0 <= label < len(classes)) if isinstance(classes, Sequence) \
            else (classes is None or label in classes)
        if not known:
            raise FormatKeyError(f'{where} {label} is outside the {len(classes)} classes')
        return label
    raise FormatError(f'{where} must be a class name or an integer class index, got {value!r}')


def check_video_ids(ids: Iterable, name: str) -> None:
    """Refuse two ids that are the same video once a leading ``v_`` is removed
    (``v_abc`` and ``abc``): the files are matched with or without the prefix, so one of the
    two would silently take the other's place."""
    seen: dict = {}
    for vid in ids:
        if not isinstance(vid, str):
            raise FormatError(f'{name}: video id {vid!r} is not a string')
        bare = vid[2:] if vid.startswith('v_') else vid
        if bare in seen and seen[bare] == vid:
            raise FormatError(f'{name}: video {vid} is listed twice')
        if bare in seen:
            raise FormatError(f'{name}: videos {seen[bare]} and {vid} are the same video once '
                              '"v_" is removed; keep one of them')
        seen[bare] = vid


def warn_outside_duration(name: str, outside: list, field: str = 'duration',
                          note: str = 'accepted as written, as the official ActivityNet '
                                      'evaluators do') -> None:
    """One warning for every segment of a file reaching outside its video.

    Args:
        outside: ``(video, item, [start, end], duration)`` of each such segment; ``item`` an
            int (shown as ``item i``) or the text naming it (``'annotations[0].segment'``).
        field: how the message names the duration (``'duration_second'``, ``'1'`` for
            normalised positions).
        note: what happens to those segments.
    """
    if not outside:
        return
    shown = '; '.join(
        f'video {v} {f"item {i}" if isinstance(i, int) else i}: {list(seg)} vs {field} {d}'
        for v, i, seg, d in outside[:3])
    warnings.warn(f'{name}: {len(outside)} segment(s) reach outside [0, {field}] ({shown}'
                  f'{" ..." if len(outside) > 3 else ""}); {note}', stacklevel=3)


def check_array(array, path: str, what: str, *, ndim: int = 2, video: str | None = None,
                min_rows: int = 0) -> np.ndarray:
    """A numeric (K, D) array read from ``path``: real numbers only, ``ndim`` dimensions,
    every value finite (also after a cast to float32 done by the caller), ``min_rows`` rows.

    ``what`` names the file kind in messages (``'feature'``, ``'BSP feature'``).
    """
    where = f'{path}: video {video}' if video else path
    array = np.asarray(array)
    if array.dtype.kind not in 'iuf':
        raise FormatError(f'{where}: {what} values must be real numbers, got dtype {array.dtype}')
    if array.ndim != ndim:
        raise FormatError(f'{where}: expected a {ndim}-D {what} array, got shape {array.shape}')
    if array.shape[0] < min_rows or (array.ndim > 1 and 0 in array.shape[1:]):
        raise FormatError(f'{where}: {what} array is empty (shape {array.shape})')
    if array.dtype.kind == 'f' and not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0]
        at = f'row {bad[0]}, column {bad[1]}' if len(bad) == 2 else f'index {tuple(bad)}'
        hint = '; values beyond 3.4e38 are Inf in float32' if array.dtype == np.float32 else ''
        raise FormatError(f'{where}: {what} contains NaN/Inf (first at {at}){hint}')
    return array
