"""Whole-config checks that ``tools/train.py`` and ``tools/test.py`` run at start-up.

Without them a mistake in a config file surfaces late and far from its cause:

- a typo in a ``type=`` dict (``checkpoint=dict(intervel=5)``) is accepted by
  ``CheckpointHook(**kwargs)`` and fails at the first save, after a whole
  epoch; :func:`check_config_types` checks every ``type=`` dict of the
  config against its class's signature, as ``--cfg-options`` keys already
  are (:func:`mmcenternet.utils.cli.validate_cfg_options`);
- a class count that differs between the heatmap branch, the target encoder
  and the dataset fails deep in a tensor op (``size of tensor a (3) must
  match ... (4)``) or an index error; :func:`check_class_counts` names all
  of them at once.

Both raise :class:`~mmcenternet.utils.cli.ConfigError` (a one-line
``error:`` in the tools).
"""
from __future__ import annotations

import inspect
from typing import Any, Iterator, List, Mapping, Optional, Sequence, Tuple

from .cli import ConfigError, _resolve_type, _unknown_argument

__all__ = ['check_config', 'check_config_types', 'check_class_counts',
           'dataset_classes']


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
    """Check that the head, its encoder and the datasets agree on classes.

    Args:
        cfg: An ``mmengine.Config``.

    Raises:
        ConfigError: Naming every count (heatmap ``out_channels``, encoder
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
