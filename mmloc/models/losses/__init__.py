
from .binary_logistic_regression_loss import (BinaryLogisticRegressionLoss,
                                              binary_logistic_regression_loss)
