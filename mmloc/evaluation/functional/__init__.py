from .temporal_iou import (pairwise_intersection, pairwise_temporal_iop,
                           pairwise_temporal_iou)

__all__ = ['pairwise_intersection', 'pairwise_temporal_iou', 'pairwise_temporal_iop']
from .ar_an import (ANET_PROPOSAL_TIOU_THRESHOLDS, AR_AT_INDEX,
                    average_recall_at_avg_proposals)

__all__ += ['ANET_PROPOSAL_TIOU_THRESHOLDS', 'AR_AT_INDEX', 'average_recall_at_avg_proposals']
