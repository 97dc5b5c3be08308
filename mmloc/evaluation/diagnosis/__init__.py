"""DETAD-style diagnosis of temporal detections: false positives, sensitivity, false negatives."""
from .api import (DIAGNOSIS_TIOU_THRESHOLDS, diagnose, diagnose_files, filter_ground_truth,
                  json_ready, to_class_agnostic)
from .characteristics import (BUCKETS, CHARACTERISTICS, assign_buckets, bucketize,
                              instance_characteristics)
from .false_positives import (FP_CATEGORIES, FP_CATEGORY_NAMES, PROPOSAL_FP_CATEGORIES,
                              classify_detections, error_removal_gain, false_positive_profile)
from .matching import flatten_ground_truth, flatten_predictions, top_gt_overlap
from .normalized_ap import (average_positives_per_class, discard_low_precision,
                            normalized_average_precision, normalized_precision_recall)
from .sensitivity import (bucket_average_map_n, false_negative_rates, missed_ground_truth,
                          sensitivity_by_bucket)

__all__ = [
    'DIAGNOSIS_TIOU_THRESHOLDS', 'diagnose', 'diagnose_files', 'filter_ground_truth',
    'json_ready', 'to_class_agnostic', 'BUCKETS', 'CHARACTERISTICS', 'assign_buckets',
    'bucketize', 'instance_characteristics', 'FP_CATEGORIES', 'FP_CATEGORY_NAMES',
    'PROPOSAL_FP_CATEGORIES', 'classify_detections', 'error_removal_gain',
    'false_positive_profile', 'flatten_ground_truth', 'flatten_predictions', 'top_gt_overlap', 'average_positives_per_class', 'discard_low_precision',
    'normalized_average_precision', 'normalized_precision_recall', 'bucket_average_map_n',
    'false_negative_rates', 'missed_ground_truth', 'sensitivity_by_bucket'
]
