"""Test-time sliding windows over a long input: slide, batch, run, collect.

A model that is trained on fixed-length windows (AFSD: ``L = 256`` frames) predicts a whole
video by running every window and merging what each gives. This module owns the first part:
where the windows start (:func:`~mmloc.structures.window_offsets`), cutting and padding them,
running them ``batch_size`` at a time and handing each window's output to a ``collect``
callback with the window's start. Merging across windows is the model's (AFSD: per-class
Soft-NMS).
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional

import torch

from mmloc.registry import TASK_UTILS
from mmloc.structures.windows import window_offsets


@TASK_UTILS.register_module()
class SlidingWindowInference:
    """Run a model over fixed-length windows of a ``(C, T, ...)`` input (time at dim 1).

    Window positions are in **grid units** (AFSD: frames); the input may be coarser by an
    integer ``step`` (AFSD features: one step per 4 frames), so a window of ``window`` grid
    positions is ``window // step`` input steps and starts are snapped down to the step grid.

    Args:
        window: window length, grid units.
        stride: distance between window starts, grid units (the last window is flush with
            the end, see :func:`~mmloc.structures.window_offsets`).
        batch_size: windows per forward pass.
        pad_value: value of the positions past the end of the input (after ``prepare``).
        step: grid units per input step.
    """

    def __init__(self, window: int, stride: int, batch_size: int = 4, pad_value: float = 0.0,
                 step: int = 1):
        if window <= 0 or stride <= 0 or batch_size <= 0 or step <= 0:
            raise ValueError(f'SlidingWindowInference: window ({window}), stride ({stride}), '
                             f'batch_size ({batch_size}) and step ({step}) must be > 0')
        self.window = int(window)
        self.stride = int(stride)
        self.batch_size = int(batch_size)
        self.pad_value = pad_value
        self.step = int(step)

    def offsets(self, num_steps: int) -> List[int]:
        """Window starts (grid units, multiples of ``step``) over ``num_steps`` input steps."""
        offsets = window_offsets(num_steps * self.step, self.window, self.stride)
        return sorted({o - o % self.step for o in offsets})

    def crop(self, inputs: torch.Tensor, offset: int,
             prepare: Optional[Callable[[torch.Tensor], torch.Tensor]] = None) -> torch.Tensor:
        """The window starting at ``offset`` (grid units): ``prepare`` (e.g. normalisation)
        on the slice, then padded at the end with ``pad_value`` to ``window // step`` steps."""
        length = self.window // self.step
        start = offset // self.step
        clip = inputs[:, start:start + length]
        if prepare is not None:
            clip = prepare(clip)
        if clip.shape[1] < length:
            pad = clip.new_full((clip.shape[0], length - clip.shape[1]) + tuple(clip.shape[2:]),
                                self.pad_value)
            clip = torch.cat([clip, pad], dim=1)
        return clip

    def __call__(self, inputs: torch.Tensor, forward: Callable[[torch.Tensor], Any],
                 collect: Callable[[Any, int, int], Any],
                 prepare: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
                 device=None) -> list:
        """Slide over ``inputs`` and collect every window.

        Args:
            inputs: ``(C, T, ...)`` whole input.
            forward: batch ``(B, C, window // step, ...)`` -> model output.
            collect: ``(output, index in the batch, window start)`` -> one window's result.
            prepare: applied to each window before padding.
            device: where the batches go (None: where ``inputs`` is).

        Returns:
            the ``collect`` results, one per window, in window order.
        """
        offsets = self.offsets(inputs.shape[1])
        results = []
        for i in range(0, len(offsets), self.batch_size):
            chunk = offsets[i:i + self.batch_size]
            batch = torch.stack([self.crop(inputs, off, prepare) for off in chunk])
            if device is not None:
                batch = batch.to(device)
            out = forward(batch)
            results.extend(collect(out, b, off) for b, off in enumerate(chunk))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(window={self.window}, stride={self.stride}, '
                f'batch_size={self.batch_size}, pad_value={self.pad_value}, step={self.step})')
