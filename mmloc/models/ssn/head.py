"""SSN head: activity (K + 1), completeness (K) and class-wise regression (2K) classifiers.

Parameter names match MMAction2 0.x (``cls_head.activity_fc``, ``cls_head.completeness_fc``,
``cls_head.regressor_fc``). The fused per-frame test classifier (0.x ``test_fc``) is derived
from these weights on every call instead of being stored, so checkpoints stay the same.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from mmloc.registry import MODELS

from .stpp import fuse_test_weights, num_multipliers, stpp_test, stpp_train


@MODELS.register_module()
class SSNHead(nn.Module):
    """Args:
        in_channels: per-frame feature width D (2048 for ResNet-50).
        num_classes: K foreground classes (20 for THUMOS14).
        stpp_stage: stage configs (0.x config: ``(1, 1, 1)``).
        num_segments_list: frames per stage in training (2, 5, 2).
        use_regression: build ``regressor_fc``.
        dropout_ratio: dropout on the pooled features (0.x head: 0).
        init_std: normal init std of the three classifiers (biases 0).
    """

    def __init__(self, in_channels: int = 2048, num_classes: int = 20,
                 stpp_stage: Sequence = (1, 1, 1), num_segments_list: Sequence[int] = (2, 5, 2),
                 use_regression: bool = True, dropout_ratio: float = 0.0,
                 init_std: float = 0.001):
        super().__init__()
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.stpp_stage = tuple(stpp_stage)
        self.num_segments_list = tuple(num_segments_list)
        self.use_regression = use_regression
        self.num_multipliers = num_multipliers(self.stpp_stage)
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio > 0 else None
        self.activity_fc = nn.Linear(in_channels, num_classes + 1)
        self.completeness_fc = nn.Linear(in_channels * self.num_multipliers, num_classes)
        self.regressor_fc = (nn.Linear(in_channels * self.num_multipliers, num_classes * 2)
                             if use_regression else None)
        self.init_std = init_std
        self.init_weights()

    def init_weights(self) -> None:
        for fc in (self.activity_fc, self.completeness_fc, self.regressor_fc):
            if fc is not None:
                nn.init.normal_(fc.weight, 0, self.init_std)
                nn.init.zeros_(fc.bias)

    def forward(self, x: torch.Tensor, scale_factors: torch.Tensor):
        """Training path.

        Args:
            x: (P * 9, D) frame features. scale_factors: (P, 2).

        Returns:
            activity (P, K + 1), completeness (P, K), bbox_preds (P, K, 2) or None.
        """
        act_feat, comp_feat = stpp_train(x, scale_factors, self.stpp_stage,
                                         self.num_segments_list)
        if self.dropout is not None:
            act_feat, comp_feat = self.dropout(act_feat), self.dropout(comp_feat)
        activity = self.activity_fc(act_feat)
        completeness = self.completeness_fc(comp_feat)
        bbox = None
        if self.regressor_fc is not None:
            bbox = self.regressor_fc(comp_feat).view(-1, self.num_classes, 2)
        return activity, completeness, bbox

    def test_weights(self):
        """(weight, bias) of the fused per-frame classifier (0.x ``prepare_test_fc``)."""
        reg_w = self.regressor_fc.weight if self.regressor_fc is not None else None
        reg_b = self.regressor_fc.bias if self.regressor_fc is not None else None
        return fuse_test_weights(self.activity_fc.weight, self.activity_fc.bias,
                                 self.completeness_fc.weight, self.completeness_fc.bias,
                                 reg_w, reg_b, self.num_multipliers)

    def frame_scores(self, x: torch.Tensor) -> torch.Tensor:
        """(n, D) frame features -> (n, (K+1) + K M + 2K M) per-frame test scores."""
        w, b = self.test_weights()
        return torch.nn.functional.linear(x, w, b)

    def forward_test(self, frame_scores: torch.Tensor, ticks: torch.Tensor,
                     scale_factors: torch.Tensor):
        """Test path: pool per-frame scores per proposal.

        Returns activity (P, K + 1), completeness (P, K), bbox_preds (P, K, 2) or None.
        """
        act, comp, reg = stpp_test(frame_scores, ticks, scale_factors, self.num_classes,
                                   self.stpp_stage, self.use_regression)
        return act, comp, (reg.view(-1, self.num_classes, 2) if reg is not None else None)
