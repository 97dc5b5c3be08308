"""One call that imports every mmloc module so the registries are filled."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import all mmloc modules and (optionally) set ``mmloc`` as default scope.

    Args:
        init_default_scope: set the current default scope to ``mmloc`` so that
            registry lookups without a scope prefix resolve to mmloc first.
    """
    import mmloc.datasets  # noqa: F401
    import mmloc.engine  # noqa: F401
    import mmloc.evaluation  # noqa: F401
    import mmloc.models  # noqa: F401
    import mmloc.visualization  # noqa: F401

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None or not DefaultScope.check_instance_created('mmloc'):
        DefaultScope.get_instance('mmloc', scope_name='mmloc')
    elif current.scope_name != 'mmloc':
        warnings.warn(f'The current default scope "{current.scope_name}" is not "mmloc"; '
                      'creating a new "mmloc" scope.')
        new_name = f'mmloc-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_name, scope_name='mmloc')
