from .checkpoint import convert_ssn_0x_state_dict, load_ssn_checkpoint
from .head import SSNHead
from .postprocess import apply_regression, combined_scores, ssn_detections
from .resnet import SSNFeatureMLP, SSNResNet, load_torchvision_resnet, torchvision_to_mmloc_keys
from .stpp import fuse_test_weights, num_multipliers, parse_stage_config, stpp_test, stpp_train

__all__ = ['SSNHead', 'SSNResNet', 'SSNFeatureMLP', 'load_torchvision_resnet',
           'torchvision_to_mmloc_keys', 'stpp_train', 'stpp_test', 'fuse_test_weights',
           'num_multipliers', 'parse_stage_config', 'combined_scores', 'apply_regression',
           'ssn_detections', 'convert_ssn_0x_state_dict', 'load_ssn_checkpoint']
