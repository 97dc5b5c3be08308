"""The sidecar JSON written next to each feature file: how its rows were sampled.

``<feature file without extension>.sidecar.json`` holds the snippet sampling (fps, window,
stride, frames per snippet), the :class:`~mmloc.structures.TimeGrid` of the rows as stored
(after any resize to a fixed T), the decoded timestamps of each snippet's first frame and the
video's facts. :func:`time_grid_from_sidecar` rebuilds the grid exactly, so that a row index
converts back to seconds with the formula of ``mmloc/structures/time_grid.py``.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Optional

from mmloc.structures import TimeGrid
from mmloc.utils.io import atomic_write_json, load_json_file

SIDECAR_FORMAT = 'mmloc-snippet-features/1'
_GRID_KEYS = ('num_steps', 'fps', 'stride_frames', 'offset_frames', 'span_s', 'output_span_s',
              'duration_s')


def sidecar_path(feature_path: str | os.PathLike) -> str:
    """``dir/name.npy`` -> ``dir/name.sidecar.json``."""
    return osp.splitext(os.fspath(feature_path))[0] + '.sidecar.json'


def grid_to_dict(grid: TimeGrid) -> dict:
    return {k: getattr(grid, k) for k in _GRID_KEYS}


def time_grid_from_sidecar(sidecar: dict) -> TimeGrid:
    """The stored rows' grid: ``index_to_seconds(g)`` is the centre of row ``g`` (seconds)."""
    try:
        return TimeGrid(**{k: sidecar['time_grid'][k] for k in _GRID_KEYS})
    except (KeyError, TypeError) as e:
        raise ValueError(f'sidecar: time_grid lacks {e}') from None


def write_sidecar(feature_path: str, sidecar: dict) -> str:
    path = sidecar_path(feature_path)
    atomic_write_json(path, dict(sidecar, format=SIDECAR_FORMAT,
                                 feature_file=osp.basename(feature_path)), indent=1)
    return path


def read_sidecar(feature_path: str, num_rows: Optional[int] = None) -> dict:
    """Read and check the sidecar of ``feature_path``.

    Args:
        num_rows: rows of the feature file, when known: must equal the sidecar's grid length.

    Raises:
        FileNotFoundError / ValueError naming the sidecar (and the feature file).
    """
    path = sidecar_path(feature_path)
    data = load_json_file(path)
    if not isinstance(data, dict) or data.get('format') != SIDECAR_FORMAT:
        raise ValueError(f'{path}: not an mmloc feature sidecar (format '
                         f'{data.get("format") if isinstance(data, dict) else None!r}, expected '
                         f'{SIDECAR_FORMAT!r})')
    try:
        grid = time_grid_from_sidecar(data)
    except ValueError as e:
        raise ValueError(f'{path}: {e}') from None
    if num_rows is not None and int(num_rows) != grid.num_steps:
        raise ValueError(f'{feature_path}: {num_rows} feature rows, but its sidecar {path} '
                         f'describes {grid.num_steps}: the file does not belong to that sampling '
                         '(re-extract it)')
    return data
