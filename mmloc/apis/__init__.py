from .train_test import (build_test_config, build_train_config, configure_test_evaluator,
                         run_test, run_train)

__all__ = ['build_train_config', 'run_train', 'build_test_config', 'run_test',
           'configure_test_evaluator']
