"""Renaming the keys of a state dict: the ``module.`` prefix and the converters' mappers."""
import re
from collections import OrderedDict
from typing import Callable, List, Mapping, Optional, Tuple

import torch

from mmcenternet.errors import ConversionError

__all__ = ['strip_module_prefix', 'KeyMapper', 'sub_mapper', 'map_keys']

#: ``key -> new key``, or ``None`` when the mapper does not handle the key.
KeyMapper = Callable[[str], Optional[str]]


def strip_module_prefix(state: Mapping) -> 'OrderedDict':
    """The state dict without the ``module.`` prefix that (Distributed)DataParallel leaves
    (the one prefix stripper of the project); torch's ``_metadata`` is renamed alike."""
    out: OrderedDict = OrderedDict(
        (key[len('module.'):] if key.startswith('module.') else key, value)
        for key, value in state.items())
    metadata = getattr(state, '_metadata', None)
    if metadata is not None:
        out._metadata = OrderedDict(  # type: ignore[attr-defined]
            ('' if k == 'module' else k[len('module.'):] if k.startswith('module.') else k, v)
            for k, v in metadata.items())
    return out


def sub_mapper(pattern: str, repl: str) -> KeyMapper:
    """A mapper applying ``re.sub`` when ``pattern`` matches the whole key, else ``None``."""
    regex = re.compile(pattern)

    def mapper(key: str) -> Optional[str]:
        return regex.sub(repl, key) if regex.fullmatch(key) is not None else None
    return mapper


def map_keys(state_dict: Mapping[str, torch.Tensor], mappers: List[KeyMapper],
             dropped_patterns: Tuple[str, ...] = ()
             ) -> Tuple['OrderedDict[str, torch.Tensor]', List[str], List[str]]:
    """Renames every key with the first mapper that maps it.

    Returns:
        ``(converted, dropped, unmapped)``: the renamed tensors (detached, contiguous), the
        keys matching ``dropped_patterns`` and the keys no mapper maps.

    Raises:
        ConversionError: When two keys map to the same name.
    """
    dropped_res = [re.compile(p) for p in dropped_patterns]
    converted: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    dropped, unmapped = [], []
    for key, value in state_dict.items():
        if any(p.match(key) for p in dropped_res):
            dropped.append(key)
            continue
        new_key = next((out for out in (m(key) for m in mappers) if out is not None), None)
        if new_key is None:
            unmapped.append(key)
            continue
        if new_key in converted:
            raise ConversionError(f'two keys map to {new_key!r} (the second is {key!r})')
        converted[new_key] = value.detach().contiguous() if torch.is_tensor(value) else value
    return converted, dropped, unmapped
