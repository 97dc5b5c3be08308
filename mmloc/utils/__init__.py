from .io import atomic_open, atomic_save_npy, atomic_savetxt, atomic_write_json
from .setup_env import register_all_modules

__all__ = ['register_all_modules', 'atomic_open', 'atomic_write_json', 'atomic_savetxt',
           'atomic_save_npy']
