from importlib import import_module

from .data_preprocessor import LocalizationDataPreprocessor  # noqa: F401
from .extractors import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .localizers import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .task_modules import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403

# `.utils` star-exports BMN/BSN's function `post_processing`, which would shadow the subpackage
# of that name (every NMS) and break `import mmloc.models.post_processing.nms`. Here the name
# is the subpackage; the function stays `mmloc.models.utils.post_processing`.
post_processing = import_module(f'{__name__}.post_processing')
del import_module
