from .temporal_iou import (pairwise_intersection, pairwise_temporal_iop,
                           pairwise_temporal_iou)

__all__ = ['pairwise_intersection', 'pairwise_temporal_iou', 'pairwise_temporal_iop']
