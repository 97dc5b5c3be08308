from .checkpoint import safe_torch_load, set_unsafe_checkpoint_loading

__all__ = ['safe_torch_load', 'set_unsafe_checkpoint_loading']
