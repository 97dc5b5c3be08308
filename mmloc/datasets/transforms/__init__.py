from .formatting import PackLocalizationInputs
from .label_generation import GenerateLocalizationLabels, segments_to_normalised
from .loading import LoadLocalizationFeature, read_feature_file

__all__ = ['LoadLocalizationFeature', 'read_feature_file', 'GenerateLocalizationLabels',
           'segments_to_normalised', 'PackLocalizationInputs']
