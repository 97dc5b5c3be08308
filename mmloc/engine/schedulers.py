"""ActionFormer's linear warm-up as an mmengine parameter scheduler (actionformer-spec §4.4).

Upstream steps ``lr_k = k * b / (W - 1)`` for ``k < W`` (the first iteration trains with
lr 0 and ``k = W - 1`` reaches ``b``), then cosine to ``eta_min`` over ``M - W`` iterations.
mmengine's ``LinearLR`` cannot start at factor 0 (its chained form divides by it), so the
warm-up is this closed-form scheduler; the cosine part is mmengine's ``CosineAnnealingLR``
(``begin=W, end=M, T_max=M-W``), whose values agree with upstream's (golden §9.10).
"""
from __future__ import annotations

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import _ParamScheduler

from mmloc.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class LinearWarmupLR(LRSchedulerMixin, _ParamScheduler):
    """``lr_k = base * (k - begin) / (end - begin - 1)`` for ``begin <= k < end`` (0 at the
    first step, ``base`` at the last); iteration-based when ``by_epoch=False``, and
    ``convert_to_iter_based=True`` turns epoch bounds into iterations."""

    def __init__(self, optimizer, begin: int = 0, end: int = 1, by_epoch: bool = False,
                 last_step: int = -1, verbose: bool = False) -> None:
        if end - begin < 2:
            raise ValueError(f'LinearWarmupLR: needs end - begin >= 2, got {begin}..{end}')
        super().__init__(optimizer, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    @classmethod
    def build_iter_from_epoch(cls, *args, begin=0, end=1, by_epoch=True, epoch_length=None,
                              **kwargs):
        if not by_epoch or not epoch_length:
            raise ValueError('LinearWarmupLR: convert_to_iter_based needs by_epoch=True and '
                             'an epoch length')
        return cls(*args, begin=int(begin * epoch_length), end=int(end * epoch_length),
                   by_epoch=False, **kwargs)

    def _get_value(self):
        frac = min(self.last_step, self.end - self.begin - 1) / (self.end - self.begin - 1)
        return [base * frac for base in self.base_values]
