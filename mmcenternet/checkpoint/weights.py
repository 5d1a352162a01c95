"""Loading weights into a model, strictly, with a typed report of what did not fit.

:func:`load_weights` is the loader of every path of the project that puts a checkpoint into
a model (``tools/test.py``, ``load_from`` and ``--resume`` through
:class:`mmcenternet.engine.CenterNetRunner`, :func:`mmcenternet.apis.init_detector`, the
demos, the benchmark): strict by default, refusing a checkpoint that does not fit with a
short summary of the missing / unexpected / mismatched keys (mmengine's own loader is not
strict and prints one ``size mismatch`` line per tensor, then evaluates a half-loaded
model), a conversion hint for official CenterNet checkpoints, and an explicit opt-out
(``--no-strict-load`` / ``strict_load = False``). It returns a :class:`LoadResult` (as
detectron2 / fvcore's ``_IncompatibleKeys``), never a string.
"""
from __future__ import annotations

import os
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from mmcenternet.errors import CheckpointError, ConversionError
from .io import MapLocation, safe_load
from .keymap import strip_module_prefix
from .official import detect_arch

__all__ = ['LoadResult', 'MismatchedKey', 'CheckpointMismatchWarning', 'NON_STRICT_HINT',
           'compare_state_dicts', 'state_dict_of', 'load_weights', 'check_resumable',
           'checkpoint_hint']


class CheckpointMismatchWarning(UserWarning):
    """A checkpoint was loaded non-strictly and some weights did not fit."""


class MismatchedKey(NamedTuple):
    """A tensor present in both with different shapes."""
    key: str
    checkpoint_shape: Tuple[int, ...]
    model_shape: Tuple[int, ...]


@dataclass
class LoadResult:
    """What a checkpoint holds compared with a model.

    Attributes:
        missing_keys: Model keys the checkpoint lacks.
        unexpected_keys: Checkpoint keys the model lacks.
        mismatched_keys: Keys of both whose shapes differ.
        loaded_keys: Checkpoint keys that fit (same name and shape).
        checkpoint: The whole loaded checkpoint (``meta``, ``state_dict``, ...).
    """
    missing_keys: List[str] = field(default_factory=list)
    unexpected_keys: List[str] = field(default_factory=list)
    mismatched_keys: List[MismatchedKey] = field(default_factory=list)
    loaded_keys: List[str] = field(default_factory=list)
    checkpoint: Dict[str, Any] = field(default_factory=dict)

    @property
    def fits(self) -> bool:
        """Whether checkpoint and model have exactly the same keys and shapes."""
        return not (self.missing_keys or self.unexpected_keys or self.mismatched_keys)

    def summary(self, limit: int = 5) -> str:
        """The missing / unexpected keys and shape mismatches in one short paragraph ('' when
        they fit); ``limit`` keys are listed per kind, the rest counted by module."""
        shapes = [f'{m.key}: checkpoint {m.checkpoint_shape} vs model {m.model_shape}'
                  for m in self.mismatched_keys]
        return '; '.join(_listed(title, items, limit) for title, items in (
            ('missing keys', self.missing_keys), ('unexpected keys', self.unexpected_keys),
            ('shape mismatches', shapes)) if items)


def _group(keys: List[str], depth: int = 2) -> str:
    """``'backbone.layer4 (30), neck.layers (12)'``: counts by module."""
    counts: Dict[str, int] = OrderedDict()
    for key in keys:
        module = key.split('.')[:-1] or [key]  # drop the tensor name
        prefix = '.'.join(module[:depth])
        counts[prefix] = counts.get(prefix, 0) + 1
    shown = [f'{p} ({n})' for p, n in list(counts.items())[:6]]
    return ', '.join(shown) + (', ...' if len(counts) > 6 else '')


def _listed(title: str, items: List[str], limit: int) -> str:
    """``'3 missing keys: a, b, c'``; longer lists are grouped by module."""
    text = f'{len(items)} {title}: {", ".join(items[:limit])}'
    if len(items) > limit:
        text += f', ... ({len(items) - limit} more; by module: {_group(items)})'
    return text


def compare_state_dicts(model_state: Mapping[str, torch.Tensor],
                        state: Mapping[str, torch.Tensor]) -> LoadResult:
    """Compare a checkpoint's state dict with a model's ``state_dict()``."""
    result = LoadResult(missing_keys=[k for k in model_state if k not in state])
    for key, value in state.items():
        if key not in model_state:
            result.unexpected_keys.append(key)
        elif tuple(value.shape) == tuple(model_state[key].shape):
            result.loaded_keys.append(key)
        else:
            result.mismatched_keys.append(
                MismatchedKey(key, tuple(value.shape), tuple(model_state[key].shape)))
    return result


def state_dict_of(checkpoint: Mapping, name: str = '<checkpoint>'
                  ) -> 'OrderedDict[str, torch.Tensor]':
    """The model weights of a loaded checkpoint: its ``state_dict`` or ``model`` entry, or
    the checkpoint itself when it is a bare state dict; without ``module.`` prefixes.

    Raises:
        CheckpointError: No state dict of tensors can be found.
    """
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(f'{name}: expected a dict checkpoint, got '
                              f'{type(checkpoint).__name__}.')
    state = checkpoint
    for key in ('state_dict', 'model'):
        if isinstance(checkpoint.get(key), Mapping):
            state = checkpoint[key]
            break
    tensors = [k for k, v in state.items() if isinstance(v, torch.Tensor)]
    if not tensors:
        raise CheckpointError(
            f'{name}: no state dict found: expected a "state_dict" or "model" entry or a '
            f'dict of tensors, got keys {sorted(state)[:10]}.')
    if len(tensors) != len(state):
        non_tensor = [k for k in state if not isinstance(state[k], torch.Tensor)]
        raise CheckpointError(f'{name}: the state dict holds non-tensor entries '
                              f'{non_tensor[:10]}.')
    return strip_module_prefix(state)


#: How the tools and the config switch strict loading off (named in errors).
NON_STRICT_HINT = (
    'To load only the matching weights, pass --no-strict-load (tools/train.py, '
    'tools/test.py, demo/image_demo.py, tools/analysis_tools/benchmark.py), '
    'set strict_load = False in the config, or call '
    'init_detector(..., strict=False).')


def checkpoint_hint(state: Mapping[str, torch.Tensor], name: str) -> str:
    """A hint for checkpoints of a known foreign layout ('' otherwise): an official
    CenterNet checkpoint (``hm.*`` heads) gets the converter's command line, a bare
    ImageNet backbone the ``init_cfg`` that loads it."""
    keys = strip_module_prefix(state)
    if any(k.startswith('hm.') for k in keys):
        try:
            arch = f' (arch {detect_arch(keys)})'
        except ConversionError:
            arch = ''
        return (f' Its keys look like an official CenterNet checkpoint{arch}: convert it '
                'first with python tools/model_converters/centernet_official2mmcn.py '
                f'{name} CONVERTED.pth.')
    if 'conv1.weight' in keys and any(k.startswith('layer1.') for k in keys):
        return (' Its keys look like a bare (ImageNet) backbone: load it into the backbone '
                "only, with model.backbone.init_cfg=dict(type='Pretrained', "
                f"checkpoint='{name}').")
    return ''


def _revise_keys(state: 'OrderedDict[str, torch.Tensor]',
                 revise_keys: Sequence[Tuple[str, str]]) -> 'OrderedDict[str, torch.Tensor]':
    """mmengine-style ``(pattern, replacement)`` key renames."""
    if not revise_keys:
        return state
    revised: OrderedDict = OrderedDict()
    for key, value in state.items():
        for pattern, replacement in revise_keys:
            key = re.sub(pattern, replacement, key)
        revised[key] = value
    if hasattr(state, '_metadata'):
        revised._metadata = state._metadata  # type: ignore[attr-defined]
    return revised


def _unwrap(model: nn.Module) -> nn.Module:
    """The detector inside a DDP / mmengine wrapper or a TTA model."""
    from mmengine.model import BaseTTAModel, is_model_wrapper
    if is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        return model.module
    return model


def load_weights(model: nn.Module, checkpoint: Union[str, os.PathLike, Mapping],
                 strict: bool = True, name: Optional[str] = None,
                 map_location: MapLocation = 'cpu',
                 revise_keys: Sequence[Tuple[str, str]] = ()) -> LoadResult:
    """Load a checkpoint's weights into ``model``.

    Args:
        model: The model (a DDP / mmengine wrapper or a TTA model is unwrapped).
        checkpoint: A path or URL (read with :func:`~mmcenternet.checkpoint.safe_load`) or
            an already loaded checkpoint dict.
        strict: Refuse a checkpoint whose keys or shapes differ from the model's. With
            False, load the tensors that fit and warn once (``CheckpointMismatchWarning``,
            also in the log) with the same summary.
        name: The file name for messages (defaults to the path).
        map_location: As for :func:`torch.load` (paths only).
        revise_keys: ``(pattern, replacement)`` regex renames of the checkpoint's keys
            (as mmengine's ``revise_keys``).

    Returns:
        The :class:`LoadResult` (with the whole checkpoint).

    Raises:
        CheckpointError: The file is missing, not a checkpoint, unsafe, or (when ``strict``)
            does not fit the model; the message names the file, summarises the keys, gives
            a conversion hint for official checkpoints and says how to load non-strictly.
    """
    if isinstance(checkpoint, (str, os.PathLike)):
        name = name or os.fspath(checkpoint)
        checkpoint = safe_load(checkpoint, map_location=map_location)
    name = name or '<checkpoint>'
    state = _revise_keys(state_dict_of(checkpoint, name), revise_keys)
    target = _unwrap(model)
    result = compare_state_dicts(target.state_dict(), state)
    result.checkpoint = dict(checkpoint)
    if result.fits:
        target.load_state_dict(state, strict=True)
        return result
    what = (f'{name}: the checkpoint does not fit the model {type(target).__name__}: '
            f'{result.summary()}.')
    if strict:
        raise CheckpointError(f'{what}{checkpoint_hint(state, name)} {NON_STRICT_HINT}')
    from mmcenternet.utils.messages import warn_and_log
    kept: OrderedDict = OrderedDict((k, state[k]) for k in result.loaded_keys)
    if hasattr(state, '_metadata'):
        kept._metadata = state._metadata  # type: ignore[attr-defined]
    target.load_state_dict(kept, strict=False)
    warn_and_log(f'{what} Non-strict loading (strict_load=False): loaded {len(kept)} of '
                 f'{len(target.state_dict())} model tensors, the others keep their initial '
                 'values.', CheckpointMismatchWarning)
    return result


def check_resumable(checkpoint: Mapping, name: str) -> None:
    """Refuse to resume from a file that is not a training checkpoint.

    mmengine's ``Runner.resume`` reads ``meta.epoch``, ``meta.iter`` and the message hub
    without a check, so a weights-only file (a converted or downloaded model) fails with
    ``KeyError: 'epoch'``.

    Raises:
        CheckpointError: Naming the file and what it lacks, and pointing at ``load_from``
            for starting a new training from its weights.
    """
    meta = checkpoint.get('meta') if isinstance(checkpoint, Mapping) else None
    lacks = [key for key in ('epoch', 'iter') if not isinstance(meta, Mapping) or key not in meta]
    if 'message_hub' not in checkpoint:
        lacks.append('message_hub')
    if lacks:
        raise CheckpointError(
            f'{name}: cannot resume from it: it is not a training checkpoint written by '
            f'tools/train.py (no {", ".join(lacks)}; it holds '
            f'{", ".join(sorted(map(str, checkpoint))[:6])}). To start a new training from '
            f'its weights use --cfg-options load_from={name} without --resume.')
