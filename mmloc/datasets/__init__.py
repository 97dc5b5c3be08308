from .activitynet_dataset import ActivityNetDataset, load_annotation_json
from .transforms import *  # noqa: F401,F403

__all__ = ['ActivityNetDataset', 'load_annotation_json']
from .thumos_afsd_dataset import ThumosAFSDDataset  # noqa: F401
from .ssn_dataset import SSNDataset, SSNFeatureDataset  # noqa: F401
