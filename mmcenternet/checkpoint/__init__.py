"""Checkpoints: safe reading, downloads, weight loading with a typed report, atomic writes
and the converters of foreign state dicts (official CenterNet, mmdet, Duan, ImageNet).

Layer 2 of the package: it imports only :mod:`mmcenternet.errors` and
:mod:`mmcenternet.utils`. Importing it changes nothing outside the package;
:func:`enable_safe_checkpoint_loading` is an explicit opt-in for mmengine's own loaders.
"""
from mmcenternet.errors import CheckpointError, CheckpointNotFoundError, ConversionError
from .atomic import (atomic_path, atomic_torch_save, atomic_write_bytes, atomic_write_text,
                     remove_stale_temp_files)
from .backbones import PRETRAINED_MAPPINGS, map_pretrained_backbone
from .download import default_cache_dir, find_local, is_url
from .io import (checkpoint_safe_globals, disable_safe_checkpoint_loading,
                 enable_safe_checkpoint_loading, safe_load)
from .keymap import strip_module_prefix
from .weights import (NON_STRICT_HINT, CheckpointMismatchWarning, LoadResult, MismatchedKey,
                      check_resumable, compare_state_dicts, load_weights, state_dict_of)

__all__ = [
    'CheckpointError', 'CheckpointNotFoundError', 'ConversionError', 'atomic_path',
    'atomic_torch_save', 'atomic_write_bytes', 'atomic_write_text', 'remove_stale_temp_files',
    'PRETRAINED_MAPPINGS', 'map_pretrained_backbone', 'default_cache_dir', 'find_local',
    'is_url', 'checkpoint_safe_globals', 'disable_safe_checkpoint_loading',
    'enable_safe_checkpoint_loading', 'safe_load', 'strip_module_prefix', 'NON_STRICT_HINT',
    'CheckpointMismatchWarning', 'LoadResult', 'MismatchedKey', 'check_resumable',
    'compare_state_dicts', 'load_weights', 'state_dict_of'
]
