"""Loading a config, checking ``--cfg-options`` and the whole config at start-up.

:func:`load_config` is the config loader of every tool (``tools/``, ``demo/``,
``benchmarks/``): it names a missing config or ``_base_`` file, refuses a ``--cfg-options``
key that does not exist in the config (:func:`validate_cfg_options`: mmengine would silently
add it, so a typo is ignored) and runs the start-up checks (:func:`check_config`). Every
error is a one-line :class:`~mmcenternet.errors.ConfigError`. It sits in the engine layer
because the checks look classes up in the registries of every layer.

Rule of :func:`validate_cfg_options` (for a key ``a.b.c``):

1. every component but the last must exist: a dict key, or an in-range
   index of a list / tuple (``train_dataloader.dataset.pipeline.1.scale``);
2. the last component must exist too, unless its parent is *open*:

   - a dict with a ``type`` key (after the options' own ``.type`` changes):
     the new key must be an argument of that class's ``__init__`` (looked
     up in the mmcenternet registries, following ``**kwargs`` up the MRO);
     when the class cannot be found or takes ``**kwargs`` that do not reach
     a fixed signature, or the dict is a layer config (``norm_cfg``,
     ``act_cfg``, ``init_cfg``, ...: builders accept extra keys such as
     ``requires_grad``), any key is accepted;
   - ``None`` or an empty dict;
   - one of :data:`OPEN_DICTS` (free-form option dicts such as
     ``model.test_cfg`` or ``env_cfg``).
3. a missing top-level key that is an argument of mmengine's ``Runner``
   (``load_from``, ``resume``, ``randomness``, ...) may be added, with
   anything below it (``randomness.seed``).

The start-up checks (:func:`check_config`), run by ``tools/train.py`` and ``tools/test.py``
among others, catch mistakes that would surface late and far from their cause:

- a typo in a ``type=`` dict (``checkpoint=dict(intervel=5)``) is accepted by
  ``CheckpointHook(**kwargs)`` and fails at the first save, after a whole epoch;
  :func:`check_config_types` checks every ``type=`` dict against its class's signature;
- a class count that differs between the heatmap branch, the head's codec (or target
  codec) and the dataset fails deep in a tensor op or an index error;
  :func:`check_class_counts` names all of them at once.
"""
from __future__ import annotations

import difflib
import inspect
import os.path as osp
import re
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from mmcenternet.errors import ConfigError

__all__ = ['OPEN_DICTS', 'load_config', 'validate_cfg_options', 'check_config',
           'check_config_types', 'check_class_counts', 'dataset_classes']

#: Dicts whose key set is open: new keys may be added with --cfg-options
#: (when they have a ``type``, its signature is checked instead).
OPEN_DICTS = frozenset({
    'model.train_cfg', 'model.test_cfg', 'train_cfg', 'val_cfg', 'test_cfg',
    'env_cfg', 'randomness', 'default_hooks', 'auto_scale_lr',
    'optim_wrapper', 'optim_wrapper.paramwise_cfg', 'optim_wrapper.clip_grad',
})

#: Keys that builders consume before calling the constructor (``priority``:
#: ``Runner.register_hook``).
_BUILDER_KEYS = frozenset({'constructor', 'paramwise_cfg',
                           'convert_to_iter_based', '_scope_', 'priority'})

#: Classes whose ``**kwargs`` go to another class than a parent ``__init__``
#: (``EMAHook`` -> its EMA model, ``RandomResize`` -> its resize transform,
#: ...): their extra keys cannot be checked. Other ``**kwargs`` that end at
#: ``object`` are taken as closed (``CheckpointHook`` hands them to
#: ``save_checkpoint``, which takes none: a typo fails at the first save).
KWARGS_FORWARDING = frozenset({
    'EMAHook', 'MultiBranch', 'InferencerLoader', 'ResizeShortestEdge',
    'RandomChoiceResize', 'RandomResize', 'NonLocal2d'})

_LOOP_CFGS = frozenset({'train_cfg', 'val_cfg', 'test_cfg'})

#: Top-level keys mmengine's Runner.from_cfg reads besides its arguments.
_EXTRA_TOP_LEVEL = frozenset({'compile', 'gpu_ids', 'strategy',
                              # mmcenternet.engine.CenterNetRunner.from_cfg
                              'strict_load'})


def load_config(path: str, cfg_options: Optional[Dict[str, Any]] = None,
                check: bool = True):
    """Load a config file with clear errors: THE config loader of every tool.

    Args:
        path: The config file.
        cfg_options: ``--cfg-options`` to check (:func:`validate_cfg_options`) and merge.
        check: Run the start-up checks of the whole config (:func:`check_config`) after
            merging; off for tools that only show or compare a config.

    Returns:
        The ``mmengine.config.Config``.

    Raises:
        ConfigError: The file, or one of its ``_base_`` files, does not exist; an option
            names a key the config does not have; a start-up check fails.
    """
    from mmengine.config import Config
    if not osp.isfile(path):
        raise ConfigError(f'config file {path} does not exist.')
    try:
        cfg = Config.fromfile(path)
    except FileNotFoundError as exc:
        missing = exc.filename or str(exc)
        raise ConfigError(
            f'config {path}: a file it includes (_base_ or read_base) does '
            f'not exist: {missing}.') from exc
    if cfg_options:
        validate_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    if check:
        check_config(cfg)
    return cfg


def _runner_arguments() -> frozenset:
    """Names of the top-level keys a Runner config may hold."""
    try:
        from mmengine.runner import Runner
        names = set(inspect.signature(Runner.__init__).parameters) - {'self'}
    except Exception:  # noqa: BLE001 - fall back to no extra keys
        names = set()
    return frozenset(names | _EXTRA_TOP_LEVEL)


def _child(node: Any, key: str) -> tuple:
    """Return ``(found, child)`` for one path component."""
    if isinstance(node, Mapping):
        return (key in node, node.get(key))
    if isinstance(node, (list, tuple)) and re.fullmatch(r'-?\d+', key):
        index = int(key)
        return (-len(node) <= index < len(node),
                node[index] if -len(node) <= index < len(node) else None)
    return (False, None)


def _choices(node: Any) -> List[str]:
    """The keys (or indices) one may write under ``node``."""
    if isinstance(node, Mapping):
        return [str(k) for k in node]
    if isinstance(node, (list, tuple)):
        return [str(i) for i in range(len(node))]
    return []


def _resolve_type(type_: Any) -> Optional[type]:
    """The class a config ``type`` names, or None if not found / ambiguous."""
    if isinstance(type_, type):
        return type_
    if not isinstance(type_, str):
        return None
    try:
        from mmengine.registry import Registry

        import mmcenternet.registry as registries
    except Exception:  # noqa: BLE001 - nothing to check against
        return None
    found = set()
    for registry in vars(registries).values():
        # our registries find our classes first, then mmdet's / mmengine's
        if isinstance(registry, Registry) and registry.scope == 'mmcenternet':
            try:
                cls = registry.get(type_)
            except Exception:  # noqa: BLE001 - a broken location module
                cls = None
            if isinstance(cls, type):
                found.add(cls)
    return found.pop() if len(found) == 1 else None


def _constructor_params(cls: type) -> Optional[frozenset]:
    """Keyword arguments ``cls(...)`` accepts; None when it is open-ended.

    ``**kwargs`` is followed to the next ``__init__`` up the MRO (the usual
    ``super().__init__(**kwargs)``); a chain that reaches ``object`` counts as
    closed, except through a class of :data:`KWARGS_FORWARDING`; a signature
    that cannot be read counts as open-ended.
    """
    names: set = set()
    for klass in cls.__mro__:
        if '__init__' not in vars(klass):
            continue
        if klass is object:
            return frozenset(names - {'self'})
        try:
            params = inspect.signature(vars(klass)['__init__']).parameters
        except (TypeError, ValueError):
            return None
        names |= {n for n, p in params.items()
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
            return frozenset(names - {'self'})
        if klass.__name__ in KWARGS_FORWARDING:
            return None
    return None


def _unknown_argument(parent: Any, parent_path: str, key: str,
                      new_types: Dict[str, Any]) -> Optional[str]:
    """Why ``key`` cannot be added under ``parent`` ('' / None if it can)."""
    if parent is None or (isinstance(parent, Mapping) and not parent):
        return None
    name = parent_path.rsplit('.', 1)[-1]
    layer_cfg = name.endswith('_cfg') and name not in _LOOP_CFGS
    if isinstance(parent, Mapping) and 'type' in parent and layer_cfg:
        return None  # norm_cfg / act_cfg / init_cfg: builders take extras
    if isinstance(parent, Mapping) and 'type' in parent:
        type_ = new_types.get(parent_path, parent['type'])
        cls = _resolve_type(type_)
        params = _constructor_params(cls) if cls is not None else None
        if params is None or key in params or key in _BUILDER_KEYS:
            return None
        close = difflib.get_close_matches(key, sorted(params), n=1)
        hint = f' Did you mean {close[0]!r}?' if close else ''
        return (f'{key!r} is not an argument of {cls.__name__} (the type of '
                f'{parent_path!r}).{hint} Its arguments: '
                f'{", ".join(sorted(params))}.')
    if parent_path in OPEN_DICTS:
        return None
    return ''


def _hint(key: str, node: Any) -> str:
    """A "did you mean" hint and the valid keys under ``node``."""
    choices = _choices(node)
    close = difflib.get_close_matches(key, choices, n=1)
    text = f' Did you mean {close[0]!r}?' if close else ''
    if choices:
        shown = ', '.join(choices[:15]) + (', ...' if len(choices) > 15 else '')
        text += f' Valid here: {shown}.'
    return text


def validate_cfg_options(cfg: Any, options: Optional[Dict[str, Any]]) -> None:
    """Check that every ``--cfg-options`` key exists in ``cfg``.

    Args:
        cfg: An ``mmengine.Config`` (or a plain dict).
        options: The parsed ``--cfg-options`` (``{'a.b.c': value}``).

    Raises:
        ConfigError: A key path does not exist (see the module docstring for
            the rule); the message names the key, the missing component and
            the close matches.
    """
    if not options:
        return
    root = getattr(cfg, '_cfg_dict', cfg)
    source = getattr(cfg, 'filename', None) or 'the config'
    top_level = _runner_arguments()
    new_types = {key[:-len('.type')]: value
                 for key, value in options.items() if key.endswith('.type')}
    for full_key in options:
        parts = full_key.split('.')
        node, path = root, ''
        for depth, part in enumerate(parts):
            found, child = _child(node, part)
            is_last = depth == len(parts) - 1
            if not found:
                if depth == 0 and part in top_level:
                    break
                if path and not isinstance(node, (Mapping, list, tuple)):
                    raise ConfigError(
                        f'--cfg-options {full_key}: {path!r} is a '
                        f'{type(node).__name__} in {source}, it has no key '
                        f'{part!r}.')
                reason = _unknown_argument(node, path, part, new_types) \
                    if is_last else ''
                if reason:
                    raise ConfigError(f'--cfg-options {full_key}: {reason}')
                if reason is not None:
                    where = f'under {path!r}' if path else 'at the top level'
                    kind = ('index' if isinstance(node, (list, tuple))
                            else 'key')
                    raise ConfigError(
                        f'--cfg-options {full_key}: {kind} {part!r} does not '
                        f'exist {where} of {source}.'
                        f'{_hint(part, node)}')
                break
            node, path = child, (f'{path}.{part}' if path else part)


def _source(cfg: Any) -> str:
    return getattr(cfg, 'filename', None) or 'the config'


def _walk(node: Any, path: str = '') -> Iterator[Tuple[str, Mapping]]:
    """Every dict in a config with its dotted path (list items by index)."""
    if isinstance(node, Mapping):
        yield path, node
        items = node.items()
    elif isinstance(node, (list, tuple)):
        items = enumerate(node)
    else:
        return
    for key, child in items:
        yield from _walk(child, f'{path}.{key}' if path else str(key))


def check_config_types(cfg: Any, limit: int = 3) -> None:
    """Check every ``type=`` dict's keys against its class's arguments.

    Layer configs (``norm_cfg``, ``conv_cfg``, ``init_cfg``, ...), types that
    no mmcenternet / mmdet / mmengine registry resolves to one class, and
    classes whose signature is open-ended (``**kwargs`` handed on to
    something else than a parent ``__init__``) are not checked.

    Args:
        cfg: An ``mmengine.Config`` (or a plain dict).
        limit: Problems listed in the message.

    Raises:
        ConfigError: Naming the config file, each bad key with its path, the
            class, the close matches and the valid arguments.
    """
    root = getattr(cfg, '_cfg_dict', cfg)
    problems: List[str] = []
    for path, node in _walk(root):
        if 'type' not in node or not path:
            continue
        for key in node:
            if key == 'type':
                continue
            reason = _unknown_argument(node, path, str(key), {})
            if reason:
                problems.append(reason)
    if problems:
        more = (f' (and {len(problems) - limit} more)'
                if len(problems) > limit else '')
        raise ConfigError(f'config {_source(cfg)}: '
                          + ' | '.join(problems[:limit]) + more)


def _signature_default(type_: Any, name: str) -> Any:
    """The default of argument ``name`` of the class ``type_`` names."""
    cls = _resolve_type(type_)
    if cls is None:
        return None
    try:
        param = inspect.signature(cls.__init__).parameters.get(name)
    except (TypeError, ValueError):
        return None
    if param is None or param.default is inspect.Parameter.empty:
        return None
    return param.default


def dataset_classes(dataset_cfg: Any) -> Optional[Tuple[str, ...]]:
    """The class names a dataset config will use.

    ``metainfo.classes`` when set, else the dataset class's ``METAINFO``;
    wrappers (``RepeatDataset``, ``ClassBalancedDataset``, ...) are looked
    through. None when unknown (e.g. ``ConcatDataset``).
    """
    node = dataset_cfg
    while isinstance(node, Mapping) and 'dataset' in node and not (
            node.get('metainfo') or {}).get('classes'):
        node = node['dataset']
    if not isinstance(node, Mapping):
        return None
    classes = (node.get('metainfo') or {}).get('classes')
    if classes is None:
        cls = _resolve_type(node.get('type'))
        classes = getattr(cls, 'METAINFO', {}).get('classes') if cls else None
    if isinstance(classes, str) or not isinstance(classes, Sequence):
        return None
    return tuple(classes)


def _head_counts(model: Mapping) -> List[Tuple[str, int]]:
    """``(path, count)`` of every class count of the model's head."""
    prefix = 'model'
    if 'bbox_head' not in model and isinstance(model.get('module'), Mapping):
        model, prefix = model['module'], 'model.module'  # a TTA wrapper
    head = model.get('bbox_head')
    if not isinstance(head, Mapping):
        return []
    path = f'{prefix}.bbox_head'
    counts = []
    if isinstance(head.get('num_classes'), int):
        counts.append((f'{path}.num_classes', head['num_classes']))
    heatmap = (head.get('branches') or {}).get('heatmap')
    if isinstance(heatmap, Mapping) and isinstance(
            heatmap.get('out_channels'), int):
        counts.append((f'{path}.branches.heatmap.out_channels',
                       heatmap['out_channels']))
    old = [f'{k}=' for k in ('encoder', 'decoder') if k in head]
    if old:  # a config written before the codecs: say so before counting
        raise ConfigError(f'{path}: {" and ".join(old)} replaced by codec= (one object per '
                          'task, e.g. codec=dict(num_classes=...); docs/new_variant.md)')
    cfg = head.get('codec')
    where = f'{path}.codec.num_classes'
    if cfg is None:  # the head's default
        cfg = _signature_default(head.get('type'), 'codec')
        where += ' (default)'
    if isinstance(cfg, Mapping) and isinstance(cfg.get('num_classes'), int):
        counts.append((where, cfg['num_classes']))
    return counts


def check_class_counts(cfg: Any) -> None:
    """Check that the head, its codec and the datasets agree on the number of classes.

    Args:
        cfg: An ``mmengine.Config``.

    Raises:
        ConfigError: Naming every count (heatmap ``out_channels``, codec
            ``num_classes``, each dataloader's classes) when they differ.
    """
    counts: List[Tuple[str, int, str]] = [
        (where, n, '') for where, n in _head_counts(cfg.get('model') or {})]
    splits: dict = {}  # the same classes in several dataloaders: one entry
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if isinstance(loader, Mapping):
            classes = dataset_classes(loader.get('dataset'))
            if classes is not None:
                splits.setdefault(classes, []).append(f'{split}_dataloader')
    for classes, names in splits.items():
        shown = ', '.join(classes[:6]) + (', ...' if len(classes) > 6 else '')
        counts.append((f'{"/".join(names)}.dataset classes', len(classes),
                       f' ({shown})'))
    if len({n for _, n, _ in counts}) <= 1:
        return
    listed = ', '.join(f'{where} = {n}{detail}'
                       for where, n, detail in counts)
    raise ConfigError(
        f'config {_source(cfg)}: the class counts disagree: {listed}. The '
        'heatmap channels, the codec\'s num_classes and the number of '
        'dataset classes must be equal (see "Train on your own COCO-format '
        'data" in README.md).')


def check_config(cfg: Any) -> None:
    """All start-up checks: ``type=`` arguments, then class counts."""
    check_config_types(cfg)
    check_class_counts(cfg)
