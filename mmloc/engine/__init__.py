from .checkpoint import safe_torch_load, set_unsafe_checkpoint_loading
from .hooks import ProgressBarHook
from .optim_wrapper import CPUAmpOptimWrapper
from .launch import load_config, resolve_work_dir, setup_launcher

__all__ = ['CPUAmpOptimWrapper', 'safe_torch_load', 'set_unsafe_checkpoint_loading', 'ProgressBarHook', 'load_config',
           'resolve_work_dir', 'setup_launcher']
