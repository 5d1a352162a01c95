"""Clear errors for the command-line tools.

- :func:`load_config`: ``Config.fromfile`` that names the config and the
  missing ``_base_`` file.
- :func:`validate_cfg_options`: rejects a ``--cfg-options`` key that does
  not exist in the config (mmengine would silently add it, so a typo is
  ignored).
- :func:`friendly_errors`: for a tool's ``main()``; known user errors are
  printed as one ``error: ...`` paragraph on stderr and the process exits
  with code 2, without a traceback unless ``MMCN_DEBUG=1``.

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
"""
from __future__ import annotations

import contextlib
import difflib
import os
import os.path as osp
import re
import sys
import traceback
from typing import Any, Dict, List, Mapping, Optional

__all__ = ['ConfigError', 'OPEN_DICTS', 'load_config',
           'validate_cfg_options', 'friendly_errors', 'format_error']

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


class ConfigError(ValueError):
    """A config file or a ``--cfg-options`` entry is invalid."""


def load_config(path: str, cfg_options: Optional[Dict[str, Any]] = None):
    """Load a config file with clear errors.

    Args:
        path: The config file.
        cfg_options: ``--cfg-options`` to check (:func:`validate_cfg_options`) and merge.

    Returns:
        The ``mmengine.config.Config``.

    Raises:
        ConfigError: The file, or one of its ``_base_`` files, does not
            exist; an option names a key the config does not have.
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
    return cfg


def _runner_arguments() -> frozenset:
    """Names of the top-level keys a Runner config may hold."""
    try:
        import inspect

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
    import inspect
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


def format_error(exc: BaseException) -> str:
    """The one-paragraph text shown for a known error."""
    if isinstance(exc, KeyError) and exc.args:
        message = str(exc.args[0])
    else:
        message = str(exc)
    if 'Original Traceback (most recent call last)' in message:
        # Re-raised from a DataLoader worker: keep the worker's message.
        lines = [line for line in message.splitlines() if line.strip()]
        message = lines[-1].split(': ', 1)[-1] if lines else message
    message = ' '.join(message.split())
    if isinstance(exc, FileNotFoundError) and exc.filename and (
            exc.filename not in message):
        message = f'{message} ({exc.filename})'
    return message or type(exc).__name__


_REGISTRY_KEY_ERROR = re.compile(r'is not in the \S+ registry')


def _known_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a user error to show without a traceback."""
    names = (('mmcenternet.utils.checkpoint', 'CheckpointError'),
             ('mmcenternet.models.detectors.loss_guard', 'NonFiniteLossError'),
             ('mmcenternet.datasets.coco', 'DatasetError'),
             ('mmcenternet.datasets.transforms.loading', 'ImageReadError'),
             ('mmcenternet.utils.workdir_lock', 'WorkDirBusyError'),
             ('mmcenternet.models.utils.official_ckpt', 'ConversionError'))
    known: list = [ConfigError, FileNotFoundError, PermissionError,
                   IsADirectoryError, NotADirectoryError]
    for module_name, class_name in names:
        module = sys.modules.get(module_name)  # not loaded: cannot be raised
        if module is not None and hasattr(module, class_name):
            known.append(getattr(module, class_name))
    if isinstance(exc, tuple(known)):
        return True
    return isinstance(exc, KeyError) and bool(
        _REGISTRY_KEY_ERROR.search(format_error(exc)))


class friendly_errors(contextlib.ContextDecorator):  # noqa: N801
    """Show known user errors as ``error: ...`` and exit with code 2.

    Use as ``with friendly_errors(): main()`` or as a ``@friendly_errors()``
    decorator on ``main``. Other exceptions propagate unchanged. With
    ``MMCN_DEBUG=1`` the traceback is printed before the message.

    Args:
        exit_code: The exit status for a known error.
    """

    def __init__(self, exit_code: int = 2) -> None:
        self.exit_code = exit_code

    def __enter__(self) -> 'friendly_errors':
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None or not _known_error(exc):
            return False
        progress = sys.modules.get('mmcenternet.utils.progress')
        if progress is not None:  # end an open progress bar's line first
            progress.close_bars()
        debug = os.environ.get('MMCN_DEBUG', '') not in ('', '0')
        if debug:
            traceback.print_exception(exc_type, exc, tb, file=sys.stderr)
        print(f'error: {format_error(exc)}', file=sys.stderr)
        if not debug:
            print('(set MMCN_DEBUG=1 to see the traceback)', file=sys.stderr)
        sys.stderr.flush()
        raise SystemExit(self.exit_code)
