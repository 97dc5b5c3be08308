from .localization_data_sample import LocalizationDataSample
from .time_scale import corrected_second, output_duration_s

__all__ = ['LocalizationDataSample', 'corrected_second', 'output_duration_s']
