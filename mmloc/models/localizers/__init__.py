
from .bsn import PEM, TEM  # noqa: F401
