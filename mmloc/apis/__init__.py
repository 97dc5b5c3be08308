from .train_test import (build_test_config, build_train_config, configure_test_evaluator,
                         run_test, run_train)

__all__ = ['build_train_config', 'run_train', 'build_test_config', 'run_test',
           'configure_test_evaluator']
from .bsn_pgm_runner import pgm_one_video, run_pgm, run_pgm_from_config  # noqa: F401
from .inference import inference_localizer, init_localizer  # noqa: E402
from .inferencer import LocalizationInferencer  # noqa: E402

__all__ += ['init_localizer', 'inference_localizer', 'LocalizationInferencer']
