"""Feature extractors for video files: a backbone + the snippet pre/post-processing."""
from .checkpoint import (PUBLISHED, load_extractor_checkpoint, map_extractor_keys,
                         missing_checkpoint_message)
from .torchvision_backbones import TORCHVISION_VIDEO_ARCHS, torchvision_available
from .video_extractor import VideoFeatureExtractor, centre_crop

__all__ = ['PUBLISHED', 'load_extractor_checkpoint', 'map_extractor_keys',
           'missing_checkpoint_message', 'TORCHVISION_VIDEO_ARCHS', 'torchvision_available',
           'VideoFeatureExtractor', 'centre_crop']
