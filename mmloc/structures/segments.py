"""``Segments``: N temporal segments ``[start, end]`` that know their time unit."""
from __future__ import annotations

from enum import Enum
from typing import Optional, Union

import numpy as np
import torch

from .segment_ops import pairwise_intersection, pairwise_temporal_iop, pairwise_temporal_iou
from .time_grid import TimeGrid


class TimeUnit(str, Enum):
    """Units of a segment boundary (see :mod:`mmloc.structures.time_grid`)."""

    SECOND = 'second'
    NORMALISED = 'normalised'
    INDEX = 'index'
    FRAME = 'frame'


ArrayLike = Union[np.ndarray, torch.Tensor]


def _to_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


class Segments:
    """(N, 2) segments ``[start, end]`` with their unit; backed by an array or a tensor.

    Arithmetic keeps the backing type (numpy in, numpy out; tensor in, tensor out).
    Conversion between units needs the video's :class:`TimeGrid` (except between equal
    units); each pair of units uses the grid's one formula for it.

    Args:
        data: (N, 2) array or tensor (a flat (2,) pair is one segment; an empty input is
            (0, 2)).
        unit: a :class:`TimeUnit` or its name (``'second'``, ``'normalised'``, ``'index'``,
            ``'frame'``).
    """

    def __init__(self, data, unit: Union[str, TimeUnit]) -> None:
        self.unit = TimeUnit(unit)
        if not isinstance(data, (np.ndarray, torch.Tensor)):
            data = np.asarray(data, dtype=np.float64)
        if data.ndim == 1 and data.shape[0] in (0, 2):
            data = data.reshape(-1, 2)
        if data.ndim != 2 or data.shape[1] != 2:
            raise ValueError(f'Segments: expected an (N, 2) array [start, end], got shape '
                             f'{tuple(data.shape)}')
        self.data = data

    # ------------------------------------------------------------------ views
    @property
    def starts(self) -> ArrayLike:
        return self.data[:, 0]

    @property
    def ends(self) -> ArrayLike:
        return self.data[:, 1]

    @property
    def lengths(self) -> ArrayLike:
        return self.data[:, 1] - self.data[:, 0]

    @property
    def centers(self) -> ArrayLike:
        return (self.data[:, 0] + self.data[:, 1]) / 2

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def __getitem__(self, index) -> 'Segments':
        data = self.data[index]
        return Segments(data.reshape(-1, 2), self.unit)

    def __repr__(self) -> str:
        return f'Segments(n={len(self)}, unit={self.unit.value!r})'

    def numpy(self) -> np.ndarray:
        """(N, 2) numpy array (a view for numpy backing)."""
        return _to_numpy(self.data)

    def tensor(self, dtype: Optional[torch.dtype] = None, device=None) -> torch.Tensor:
        """(N, 2) tensor."""
        data = self.data if isinstance(self.data, torch.Tensor) else torch.from_numpy(
            np.ascontiguousarray(self.data))
        return data.to(dtype=dtype, device=device)

    def _wrap(self, data, unit: Optional[TimeUnit] = None) -> 'Segments':
        return Segments(data, unit or self.unit)

    # ------------------------------------------------------------------ geometry
    def clip(self, low: float = 0.0, high: float = 1.0) -> 'Segments':
        """Clamp both boundaries to ``[low, high]`` (same unit)."""
        if isinstance(self.data, torch.Tensor):
            return self._wrap(self.data.clamp(low, high))
        return self._wrap(np.clip(self.data, low, high))

    def _check_same_unit(self, other: 'Segments') -> None:
        if self.unit != other.unit:
            raise ValueError(f'Segments: units differ ({self.unit.value} vs '
                             f'{other.unit.value}); convert one with .to(unit, grid)')

    def intersection(self, other: 'Segments') -> np.ndarray:
        """(N, M) float64 pairwise intersection lengths."""
        self._check_same_unit(other)
        return pairwise_intersection(self.numpy(), other.numpy())

    def iou(self, other: 'Segments') -> np.ndarray:
        """(N, M) float64 pairwise IoU (0 where the union is 0)."""
        self._check_same_unit(other)
        return pairwise_temporal_iou(self.numpy(), other.numpy())

    def iop(self, other: 'Segments') -> np.ndarray:
        """(N, M) float64 share of each of ``self`` covered by each of ``other``."""
        self._check_same_unit(other)
        return pairwise_temporal_iop(self.numpy(), other.numpy())

    # ------------------------------------------------------------------ units
    def to(self, unit: Union[str, TimeUnit], grid: Optional[TimeGrid] = None) -> 'Segments':
        """The same segments in ``unit``, through ``grid``'s formulas.

        Direct formulas: second<->normalised, second<->index, second<->frame,
        normalised<->index; other pairs go through seconds.
        """
        unit = TimeUnit(unit)
        if unit == self.unit:
            return self
        if grid is None:
            raise ValueError(f'Segments.to: converting {self.unit.value} -> {unit.value} '
                             'needs the video\'s TimeGrid')
        direct = {
            (TimeUnit.SECOND, TimeUnit.NORMALISED): grid.seconds_to_normalised,
            (TimeUnit.NORMALISED, TimeUnit.SECOND): grid.normalised_to_seconds,
            (TimeUnit.SECOND, TimeUnit.INDEX): grid.seconds_to_index,
            (TimeUnit.INDEX, TimeUnit.SECOND): grid.index_to_seconds,
            (TimeUnit.SECOND, TimeUnit.FRAME): grid.seconds_to_frame,
            (TimeUnit.FRAME, TimeUnit.SECOND): grid.frame_to_seconds,
            (TimeUnit.NORMALISED, TimeUnit.INDEX): grid.normalised_to_index,
            (TimeUnit.INDEX, TimeUnit.NORMALISED): grid.index_to_normalised,
        }
        fn = direct.get((self.unit, unit))
        if fn is not None:
            return self._wrap(fn(self.data), unit)
        return self.to(TimeUnit.SECOND, grid).to(unit, grid)
