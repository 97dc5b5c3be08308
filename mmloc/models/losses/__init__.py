
from .binary_logistic_regression_loss import (BinaryLogisticRegressionLoss,
                                              binary_logistic_regression_loss)
from .bsn_loss import PEMLoss, TEMLoss, pem_loss, pem_sample_weights, tem_loss  # noqa: F401
from .bmn_loss import BMNLoss, bmn_tem_loss, pem_cls_loss, pem_reg_loss  # noqa: F401
from .ssn_loss import SSNLoss, completeness_loss, ohem_hinge_loss  # noqa: F401
from .afsd_loss import AFSDLoss  # noqa: F401
from .actionformer_loss import (ActionFormerLoss, LossNormalizer, TriDetLoss,  # noqa: F401
                                diou_loss_1d, iou_loss_1d, sigmoid_focal_loss)
