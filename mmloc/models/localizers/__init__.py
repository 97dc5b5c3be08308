
from .bsn import PEM, TEM  # noqa: F401
from .afsd import AFSD  # noqa: F401
from .ssn import SSN  # noqa: F401
from .bmn import BMN, bmn_candidates  # noqa: F401
from .actionformer import ActionFormer, TriDet  # noqa: F401
