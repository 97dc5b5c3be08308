from .activitynet_dataset import ActivityNetDataset, load_annotation_json
from .collate import localization_collate, pad_sequences
from .feature_dataset import FeatureDataset, read_video_list
from .transforms import *  # noqa: F401,F403

__all__ = ['ActivityNetDataset', 'FeatureDataset', 'load_annotation_json', 'localization_collate',
           'pad_sequences', 'read_video_list']
from .thumos_afsd_dataset import ThumosAFSDDataset  # noqa: F401
from .ssn_dataset import SSNDataset, SSNFeatureDataset  # noqa: F401
