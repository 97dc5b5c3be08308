from .anet_metric import ANetMetric  # noqa: F401
