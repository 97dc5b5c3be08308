"""``AFSDLoss``: AFSD's training objective as a registered module (spec §3.3, §4.5-4.8).

It wraps the loss functions of ``mmloc.models.afsd.loss`` and holds their weights, so the
config spells them once: ``loss=dict(type='AFSDLoss', lw=10.0, cw=1.0, piou=0.5, ssl=0.1)``.
"""
from __future__ import annotations

from typing import Dict, List, Sequence

import torch
from torch import nn

from mmloc.models.afsd.criterion import afsd_losses, contrastive_loss
from mmloc.registry import MODELS


@MODELS.register_module()
class AFSDLoss(nn.Module):
    """AFSD's weighted loss terms.

    Args:
        lw: weight of the coarse IoU loss and the refined L1 loss (spec §3.4 ``--lw``).
        cw: weight of both focal losses and the quality BCE (``--cw``).
        piou: coarse IoU a positive needs to be a refined positive (``--piou``).
        ssl: weight of the boundary contrastive loss (``--ssl``); 0 skips its forward pass.
        focal_alpha, focal_gamma: softmax focal loss parameters.
        level0_boundary_weight: weight of the level-0 start/end terms.
    """

    def __init__(self, lw: float = 10.0, cw: float = 1.0, piou: float = 0.5, ssl: float = 0.1,
                 focal_alpha: float = 0.25, focal_gamma: float = 2.0,
                 level0_boundary_weight: float = 0.1):
        super().__init__()
        self.lw, self.cw, self.piou, self.ssl = lw, cw, piou, ssl
        self.focal_alpha, self.focal_gamma = focal_alpha, focal_gamma
        self.level0_boundary_weight = level0_boundary_weight

    def forward(self, out: Dict[str, torch.Tensor], gt_segments: Sequence[torch.Tensor],
                gt_labels: Sequence[torch.Tensor], start_labels: torch.Tensor,
                end_labels: torch.Tensor, clip_length: int) -> Dict[str, torch.Tensor]:
        """Every term but the contrastive one (see ``afsd_losses``).

        Args:
            out: ``AFSDNet.forward`` outputs of the batch.
            gt_segments: per clip (G, 2) normalised by ``L``. gt_labels: per clip (G,) 1-based.
            start_labels, end_labels: (B, L) 0/1.
        """
        return afsd_losses(out, gt_segments, gt_labels, start_labels, end_labels, clip_length,
                           lw=self.lw, cw=self.cw, piou=self.piou,
                           focal_alpha=self.focal_alpha, focal_gamma=self.focal_gamma,
                           level0_boundary_weight=self.level0_boundary_weight)

    def contrastive(self, maps: List[torch.Tensor],
                    segments: Sequence[torch.Tensor]) -> torch.Tensor:
        """``ssl · mean`` of the contrastive loss of each augmented clip.

        Args:
            maps: ``AFSDNet.forward_boundary_maps`` of the clips, batched (clip ``i`` is row
                ``i``). segments: per clip (3, 2) frames.
        """
        terms = [contrastive_loss([m[i:i + 1] for m in maps], seg)
                 for i, seg in enumerate(segments)]
        return self.ssl * torch.stack(terms).mean()

    def extra_repr(self) -> str:
        return (f'lw={self.lw}, cw={self.cw}, piou={self.piou}, ssl={self.ssl}, '
                f'focal_alpha={self.focal_alpha}, focal_gamma={self.focal_gamma}')
