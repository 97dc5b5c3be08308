from .anet_metric import ANetMetric  # noqa: F401
from .tem_metric import TEMMetric  # noqa: F401
from .detection_metric import DetectionMetric  # noqa: F401
