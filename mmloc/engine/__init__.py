from .checkpoint import safe_torch_load, set_unsafe_checkpoint_loading
from .fileio import AtomicLocalBackend
from .hooks import ProgressBarHook, RNGStateHook
from .launch import load_config, resolve_work_dir, setup_launcher
from .optim_wrapper import CPUAmpOptimWrapper

__all__ = ['AtomicLocalBackend', 'CPUAmpOptimWrapper', 'ProgressBarHook', 'RNGStateHook',
           'safe_torch_load', 'set_unsafe_checkpoint_loading', 'load_config',
           'resolve_work_dir', 'setup_launcher']
