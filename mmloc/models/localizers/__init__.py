
from .bsn import PEM, TEM  # noqa: F401
from .afsd import AFSD  # noqa: F401
