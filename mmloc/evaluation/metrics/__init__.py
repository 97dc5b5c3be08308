from .anet_metric import ANetMetric  # noqa: F401
from .dump_tem_results import DumpTEMResults, TEMMetric  # noqa: F401
from .detection_metric import DetectionMetric  # noqa: F401
