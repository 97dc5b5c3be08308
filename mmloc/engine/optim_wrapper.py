"""Mixed precision on CPU (mmengine's AmpOptimWrapper requires a GPU)."""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from mmloc.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """OptimWrapper whose forward runs under ``torch.autocast('cpu', bfloat16)``.

    bfloat16 keeps float32's exponent range, so no loss scaling is needed.
    """

    def __init__(self, dtype: str = 'bfloat16', **kwargs) -> None:
        super().__init__(**kwargs)
        self.cast_dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast('cpu', dtype=self.cast_dtype):
            yield
