"""What a model exports: its ``tensor``-mode graph, stated by the model (``ExportSpec``).

An exportable model has a method ``export_spec(self) -> ExportSpec``. The deployment tool
(``tools/deployment/export_onnx.py``) reads only the spec, so it names no model class; a
model registered later becomes exportable by adding the method.

Shapes use ``int`` for fixed sizes and ``str`` for dynamic axes (the axis name in the ONNX
graph); :meth:`ExportSpec.example_inputs` fills dynamic axes from ``sizes`` (defaults in
``ExportSpec.example_sizes``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from torch import nn

Dim = Union[int, str]


@dataclass(frozen=True)
class TensorSpec:
    """One graph input: name, shape (``str`` = dynamic axis), dtype and the value range of
    the random example/check inputs (uniform in ``[low, high)``)."""

    name: str
    shape: Tuple[Dim, ...]
    dtype: torch.dtype = torch.float32
    low: float = 0.0
    high: float = 1.0


class TensorModeGraph(nn.Module):
    """``model(x, mode='tensor')`` as a plain module returning a tuple of tensors.

    Args:
        model: the localizer.
        output_keys: when tensor mode returns a dict, the keys to return, in this order.
    """

    def __init__(self, model: nn.Module, output_keys: Optional[Sequence[str]] = None) -> None:
        super().__init__()
        self.model = model
        self.output_keys = tuple(output_keys) if output_keys is not None else None

    def forward(self, *inputs):
        out = self.model(inputs[0] if len(inputs) == 1 else inputs, mode='tensor')
        if self.output_keys is not None:
            return tuple(out[k] for k in self.output_keys)
        return tuple(out) if isinstance(out, (tuple, list)) else (out, )


@dataclass
class ExportSpec:
    """The exportable part of a model.

    Attributes:
        graph: module mapping the input tensors (in ``inputs`` order) to the outputs (in
            ``output_names`` order); normally :class:`TensorModeGraph` over ``tensor`` mode.
        inputs: the graph inputs.
        output_names: names of the graph outputs.
        output_dynamic_axes: ``{output: {axis: name}}``.
        example_sizes: default sizes of the dynamic axes for examples (``{'batch': 1}``).
        constants: tensors the post-processing needs that are not graph outputs (AFSD's
            ``priors``); the tool stores them in the ONNX metadata.
        notes: what stays outside the graph (post-processing), for the tool's report.
    """

    graph: nn.Module
    inputs: Tuple[TensorSpec, ...]
    output_names: Tuple[str, ...]
    output_dynamic_axes: Dict[str, Dict[int, str]] = field(default_factory=dict)
    example_sizes: Dict[str, int] = field(default_factory=lambda: {'batch': 1})
    constants: Dict[str, torch.Tensor] = field(default_factory=dict)
    notes: str = ''

    @property
    def input_names(self) -> Tuple[str, ...]:
        return tuple(t.name for t in self.inputs)

    @property
    def dynamic_axes(self) -> Dict[str, Dict[int, str]]:
        """``torch.onnx.export``'s ``dynamic_axes``: inputs' ``str`` axes and the outputs'."""
        axes = {t.name: {i: d for i, d in enumerate(t.shape) if isinstance(d, str)}
                for t in self.inputs}
        axes = {k: v for k, v in axes.items() if v}
        axes.update({k: dict(v) for k, v in self.output_dynamic_axes.items()})
        return axes

    def input_shapes(self, **sizes: int) -> Tuple[Tuple[int, ...], ...]:
        """Concrete input shapes; dynamic axes from ``sizes``, else ``example_sizes``."""
        known = dict(self.example_sizes, **sizes)
        shapes = []
        for t in self.inputs:
            missing = [d for d in t.shape if isinstance(d, str) and d not in known]
            if missing:
                raise KeyError(f'ExportSpec: input {t.name}: no size for dynamic axes {missing}')
            shapes.append(tuple(known[d] if isinstance(d, str) else int(d) for d in t.shape))
        return tuple(shapes)

    def example_inputs(self, seed: int = 0, **sizes: int) -> Tuple[torch.Tensor, ...]:
        """Seeded random inputs (uniform in each input's ``[low, high)``)."""
        gen = torch.Generator().manual_seed(seed)
        out = []
        for t, shape in zip(self.inputs, self.input_shapes(**sizes)):
            x = torch.rand(shape, generator=gen, dtype=torch.float32)
            if (t.low, t.high) != (0.0, 1.0):
                x = x * (t.high - t.low) + t.low
            out.append(x.to(t.dtype))
        return tuple(out)
