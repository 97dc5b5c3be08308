from .checkpoint import load_from_local, safe_torch_load, set_unsafe_checkpoint_loading
from .fileio import AtomicLocalBackend
from .hooks import LocalizationEMAHook, ProgressBarHook, RNGStateHook
from .launch import load_config, resolve_work_dir, setup_launcher
from .optim_wrapper import CPUAmpOptimWrapper
from .runtime import setup_runtime
from .schedulers import LinearWarmupLR

__all__ = ['AtomicLocalBackend', 'CPUAmpOptimWrapper', 'LinearWarmupLR', 'LocalizationEMAHook', 'ProgressBarHook', 'RNGStateHook',
           'load_from_local', 'safe_torch_load', 'set_unsafe_checkpoint_loading', 'load_config',
           'resolve_work_dir', 'setup_launcher', 'setup_runtime']
