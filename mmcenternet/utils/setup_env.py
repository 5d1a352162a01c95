"""Registration of every mmcenternet module (cf. ``mmdet.utils.register_all_modules``)."""
import datetime
import warnings

from mmengine import DefaultScope
from mmengine.registry import Registry


def register_all_modules(init_default_scope: bool = True) -> None:
    """Imports all mmcenternet (and mmdet) modules so that they are registered.

    Our modules are imported through mmengine's ``locations`` mechanism: each registry of
    :mod:`mmcenternet.registry` imports the subpackages named in its ``locations``
    (``Registry.import_from_location``), so this layer-1 helper imports none of them itself.

    Args:
        init_default_scope: Whether to set ``mmcenternet`` as the default scope, so configs
            without ``default_scope`` still find our modules first.
    """
    import mmdet.utils
    mmdet.utils.register_all_modules(init_default_scope=False)

    import mmcenternet.registry as registries
    for registry in vars(registries).values():
        if isinstance(registry, Registry) and registry.scope == 'mmcenternet':
            registry.import_from_location()

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None or current.scope_name != 'mmcenternet':
        if current is not None:
            warnings.warn(f'The current default scope "{current.scope_name}" is not '
                          '"mmcenternet"; a new default scope "mmcenternet" is created.')
        stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S%f')
        DefaultScope.get_instance(f'mmcenternet-{stamp}', scope_name='mmcenternet')
