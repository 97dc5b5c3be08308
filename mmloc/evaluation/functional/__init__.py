from .ar_an import (ANET_PROPOSAL_TIOU_THRESHOLDS, AR_AT_INDEX,
                    average_recall_at_avg_proposals)

__all__ = ['ANET_PROPOSAL_TIOU_THRESHOLDS', 'AR_AT_INDEX', 'average_recall_at_avg_proposals']
from .detection_map import (ANET_TIOU_THRESHOLDS, PROTOCOL_TIOU_THRESHOLDS,
                            THUMOS14_TIOU_THRESHOLDS, compute_detection_map,
                            interpolated_average_precision, match_detections)

__all__ += ['ANET_TIOU_THRESHOLDS', 'THUMOS14_TIOU_THRESHOLDS', 'PROTOCOL_TIOU_THRESHOLDS',
            'compute_detection_map', 'interpolated_average_precision', 'match_detections']
