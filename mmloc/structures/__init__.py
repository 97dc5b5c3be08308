from .localization_data_sample import LocalizationDataSample
from .segment_ops import pairwise_intersection, pairwise_temporal_iop, pairwise_temporal_iou
from .segments import Segments, TimeUnit
from .time_grid import TimeGrid, corrected_second, output_duration_s
from .windows import window_offsets

__all__ = ['LocalizationDataSample', 'Segments', 'TimeUnit', 'TimeGrid', 'corrected_second',
           'output_duration_s', 'pairwise_intersection', 'pairwise_temporal_iou',
           'pairwise_temporal_iop', 'window_offsets']
