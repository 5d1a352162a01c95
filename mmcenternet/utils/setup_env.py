"""Registration of every mmcenternet module (cf. ``mmdet.utils.register_all_modules``)."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Imports all mmcenternet (and mmdet) modules so that they are registered.

    Args:
        init_default_scope: Whether to set ``mmcenternet`` as the default scope, so configs
            without ``default_scope`` still find our modules first.
    """
    import mmdet.utils
    mmdet.utils.register_all_modules(init_default_scope=False)

    import mmcenternet.datasets  # noqa: F401
    import mmcenternet.deploy  # noqa: F401  (ONNXRuntimeDetector; onnxruntime loads lazily)
    import mmcenternet.engine  # noqa: F401
    import mmcenternet.evaluation  # noqa: F401
    import mmcenternet.models  # noqa: F401
    import mmcenternet.visualization  # noqa: F401

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None or current.scope_name != 'mmcenternet':
        if current is not None:
            warnings.warn(f'The current default scope "{current.scope_name}" is not '
                          '"mmcenternet"; a new default scope "mmcenternet" is created.')
        stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S%f')
        DefaultScope.get_instance(f'mmcenternet-{stamp}', scope_name='mmcenternet')
