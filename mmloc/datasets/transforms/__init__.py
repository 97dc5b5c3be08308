from .cleaning import RemoveDuplicateAnnotations
from .formatting import PackLocalizationInputs
from .label_generation import GenerateLocalizationLabels, segments_to_normalised
from .fitting import (ClipSegmentsToFeature, CropFeature, ResizeFeature, SegmentsToGrid,
                      StandardizeFeature, TruncateFeature, standardize_feature)
from .loading import LoadLocalizationFeature, feature_length, read_feature_file

__all__ = ['LoadLocalizationFeature', 'read_feature_file', 'GenerateLocalizationLabels',
           'segments_to_normalised', 'PackLocalizationInputs', 'ResizeFeature', 'CropFeature', 'TruncateFeature', 'ClipSegmentsToFeature',
           'SegmentsToGrid', 'feature_length', 'StandardizeFeature', 'standardize_feature',
           'RemoveDuplicateAnnotations']
from .proposal_loading import (LoadProposals, read_bsp_feature, read_proposals,  # noqa: F401
                               read_tem_results, write_bsp_feature, write_proposals,
                               write_tem_results)
from .afsd_transforms import (AFSDBoundaryLabels, AFSDCenterCrop,  # noqa: F401
                              AFSDContrastiveClip, AFSDRandomCrop, AFSDRandomFlip,
                              LoadAFSDFrames, PackAFSDInputs)
from .ssn_formatting import PackSSNInputs  # noqa: F401
from .ssn_loading import SSNLoadFeatures, SSNLoadFrames  # noqa: F401
from .ssn_sampling import SampleProposalFrames  # noqa: F401
from .resample import resample_feature  # noqa: F401
