"""Safe and strict checkpoint loading, and atomic checkpoint writing.

Loading
    Every checkpoint is unpickled with ``torch.load(..., weights_only=True)``:
    a checkpoint downloaded from anywhere must not be able to run code. Files
    in PyTorch 0.1's ``.tar`` format (which ``weights_only`` refuses; the
    official ImageNet ResNets are such files) are read by
    :mod:`mmcenternet.utils.legacy_tar` with an equally restricted unpickler. The
    few non-tensor types that an mmengine 0.10.7 ``Runner`` checkpoint holds
    (the message hub's ``HistoryBuffer``, numpy arrays, dtypes and scalars)
    are put on torch's allow-list by :func:`allow_mmengine_checkpoint_globals`.
    :func:`install_safe_checkpoint_loaders` makes mmengine's own loading path
    (``Runner.resume``, ``load_from``, ``init_cfg=dict(type='Pretrained')``)
    go through the same safe loader and error messages.

    ``weights_only=False`` is never used in this project.

    Weights go into a model through :func:`load_model_weights` on every
    path (test, train ``load_from`` / ``--resume``, demo, benchmark): strict
    by default, with a short summary of missing / unexpected / mismatched
    keys, a conversion hint for official CenterNet checkpoints, and an
    explicit opt-out (``--no-strict-load`` / ``strict_load = False``).

Writing
    :func:`atomic_write_bytes` / :func:`atomic_write_text` /
    :func:`atomic_torch_save` write to a temporary file in the target folder,
    ``fsync`` it, and ``os.replace`` it onto the target, so a process killed
    while saving leaves either the old file or the new one, never a torn one.
"""
from __future__ import annotations

import contextlib
import functools
import io
import os
import os.path as osp
import pickle
import re
from collections import OrderedDict
from typing import (Any, Callable, Iterator, List, Mapping, Optional, Sequence,
                    Tuple, Union)

import numpy as np
import torch
from torch import nn

from .legacy_tar import (LegacyTarError, is_legacy_tar_checkpoint,
                         load_legacy_tar_checkpoint)

__all__ = [
    'CheckpointError', 'CheckpointNotFoundError',
    'allow_mmengine_checkpoint_globals',
    'install_safe_checkpoint_loaders', 'enable_safe_checkpoint_loading',
    'safe_torch_load', 'load_checkpoint_strict', 'extract_state_dict',
    'load_model_weights', 'weight_mismatch', 'checkpoint_hint',
    'check_resumable', 'CheckpointMismatchWarning', 'NON_STRICT_HINT',
    'atomic_write_bytes', 'atomic_write_text', 'atomic_torch_save',
    'fsync_file', 'fsync_dir', 'temp_path_for'
]

MapLocation = Union[str, torch.device, Callable, dict, None]

_GLOBALS_ALLOWED = False
_SAFE_MARK = '_mmcn_weights_only'


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, unreadable, unsafe or does not fit."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """The checkpoint file does not exist (also a ``FileNotFoundError``, as
    mmengine's own loader raises)."""


class CheckpointMismatchWarning(UserWarning):
    """A checkpoint was loaded non-strictly and some weights did not fit."""


# ---------------------------------------------------------------------------
# Allow-list
# ---------------------------------------------------------------------------
def _history_buffer_method(obj: Any, name: str) -> Any:
    """Stand-in for ``builtins.getattr`` while unpickling a checkpoint.

    ``HistoryBuffer.__getstate__`` pickles its statistics methods (``min``,
    ``max``, ``current``, ``mean``) as ``getattr(HistoryBuffer, 'min')``.
    Allowing the real ``getattr`` would hand a malicious pickle an attribute
    walk over every allowed object, so this stand-in only returns public
    functions defined on ``HistoryBuffer`` itself.

    Args:
        obj: The object whose attribute the pickle asks for.
        name: The attribute name.

    Returns:
        The plain function ``HistoryBuffer.<name>``.

    Raises:
        pickle.UnpicklingError: For anything else.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    member = vars(HistoryBuffer).get(name) if obj is HistoryBuffer else None
    if (isinstance(name, str) and not name.startswith('_')
            and isinstance(member, type(_history_buffer_method))):
        return member
    raise pickle.UnpicklingError(
        f'Unsupported global: GLOBAL builtins.getattr({obj!r}, {name!r}) '
        'was not an allowed global (only HistoryBuffer statistics methods '
        'may be looked up)')


def _numpy_safe_globals() -> list:
    """Numpy types needed to unpickle arrays, dtypes and scalars.

    Returns:
        A list for ``torch.serialization.add_safe_globals``: the array, dtype and scalar
        types, and ``multiarray._reconstruct`` / ``multiarray.scalar`` under both module
        names that checkpoints reference: ``numpy._core.multiarray`` (written under numpy 2)
        and ``numpy.core.multiarray`` (numpy 1.x). Works with numpy 1.26 (where
        ``numpy._core`` is an alias of ``numpy.core``) and numpy 2.
    """
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 1.26
        from numpy.core import multiarray
    safe: list = [np.ndarray, np.dtype, multiarray._reconstruct,
                  multiarray.scalar]
    # Every concrete dtype class (Float64DType, Int64DType, ...): the BUILD of
    # a pickled dtype checks the type of the instance.
    safe += [getattr(np.dtypes, name) for name in np.dtypes.__all__]
    for module in NUMPY_MULTIARRAY_NAMES:
        safe += [(multiarray._reconstruct, f'{module}._reconstruct'),
                 (multiarray.scalar, f'{module}.scalar')]
    return safe


#: The module names of numpy's ``multiarray`` in pickles written under numpy 2 and 1.x.
NUMPY_MULTIARRAY_NAMES = ('numpy._core.multiarray', 'numpy.core.multiarray')


def allow_mmengine_checkpoint_globals() -> None:
    """Allow-list the types an mmengine 0.10.7 Runner checkpoint holds.

    Registers with :func:`torch.serialization.add_safe_globals` the message
    hub's ``HistoryBuffer``, a restricted ``getattr`` that only returns
    ``HistoryBuffer`` statistics methods, and the numpy array / dtype /
    scalar types (found by saving a Runner checkpoint and loading it with
    ``weights_only=True``). Idempotent.
    """
    global _GLOBALS_ALLOWED
    if _GLOBALS_ALLOWED:
        return
    from mmengine.logging.history_buffer import HistoryBuffer
    safe = [HistoryBuffer, (_history_buffer_method, 'builtins.getattr')]
    safe += _numpy_safe_globals()
    torch.serialization.add_safe_globals(safe)
    _GLOBALS_ALLOWED = True


# ---------------------------------------------------------------------------
# Safe loading with clear errors
# ---------------------------------------------------------------------------
_REFUSED_PATTERNS = (
    re.compile(r'GLOBAL (\S+) whose module \S+ is blocked'),
    re.compile(r'Unsupported global: GLOBAL (.+?) was not an allowed global'),
    re.compile(r'Trying to call reduce for unrecognized function (.+?)$',
               re.M),
    re.compile(r'Can only build .*?but got (.+?)$', re.M),
    re.compile(r'Can only create new object for .*?but got (.+?)$', re.M),
)


def _refused_global(message: str) -> Optional[str]:
    """Return the global a weights-only unpickling refused, if any."""
    for pattern in _REFUSED_PATTERNS:
        match = pattern.search(message)
        if match:
            return match.group(1).strip().rstrip('.')
    return None


def _is_zip(source: Any) -> bool:
    """Whether ``source`` (a path) starts like a zip archive (torch.save)."""
    if not isinstance(source, (str, os.PathLike)):
        return False
    try:
        with open(source, 'rb') as f:
            return f.read(4) == b'PK\x03\x04'
    except OSError:
        return False


def _translate_load_error(exc: BaseException, name: str,
                          source: Any = None) -> CheckpointError:
    """Turn a ``torch.load`` failure into a one-line :class:`CheckpointError`.

    Args:
        exc: The exception ``torch.load`` raised.
        name: The file name to put in the message.
        source: The path that was loaded, to look at its header.

    Returns:
        The error to raise (the caller chains ``exc``).
    """
    message = str(exc)
    refused = _refused_global(message)
    if refused is not None:
        return CheckpointError(
            f'{name}: refused to unpickle {refused!r} for safety. Checkpoints '
            'are loaded with weights_only=True so that a file cannot run '
            'code; this one references a global outside the allow-list. If '
            'you trust the file and the object is plain data, add it with '
            'torch.serialization.add_safe_globals([...]).')
    opcode = re.search(r'Unsupported operand (\d+)', message)
    if opcode:
        return CheckpointError(
            f'{name}: not a PyTorch checkpoint (a plain pickle using opcode '
            f'{opcode.group(1)}, which torch.save never writes).')
    if isinstance(exc, EOFError) or not message:
        return CheckpointError(f'{name}: not a checkpoint (the file is empty '
                               'or ends too early).')
    if ('zip archive' in message or 'central directory' in message
            or _is_zip(source)):
        return CheckpointError(
            f'{name}: the checkpoint is truncated or corrupt (its zip archive '
            'cannot be read); it was probably written by a run that was '
            'killed while saving. Use an earlier checkpoint.')
    if isinstance(exc, (KeyError, pickle.UnpicklingError, ValueError,
                        RuntimeError, TypeError, AttributeError)):
        # A KeyError here is torch's legacy-format magic-number lookup.
        lines = message.strip().splitlines()
        detail = ('' if isinstance(exc, KeyError) or not lines else
                  f'; {type(exc).__name__}: {lines[0][:200]}')
        return CheckpointError(
            f'{name}: not a PyTorch checkpoint (neither a torch zip archive '
            f'nor a torch pickle{detail}).')
    return CheckpointError(f'{name}: cannot load checkpoint: '
                           f'{type(exc).__name__}: {message[:300]}')


def _holds_tensor(obj: Any, depth: int = 0) -> bool:
    """Whether ``obj`` (a nested dict / list) contains a tensor."""
    if isinstance(obj, torch.Tensor):
        return True
    if depth > 4:
        return False
    if isinstance(obj, Mapping):
        return any(_holds_tensor(v, depth + 1) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(_holds_tensor(v, depth + 1) for v in obj)
    return False


def safe_torch_load(source: Union[str, os.PathLike, io.IOBase],
                    map_location: MapLocation = 'cpu',
                    name: Optional[str] = None,
                    require_tensors: bool = True) -> Any:
    """``torch.load`` with ``weights_only=True`` and clear error messages.

    Args:
        source: A file path or a binary file object.
        map_location: As for :func:`torch.load`.
        name: The name to report in errors (defaults to the path).
        require_tensors: Raise when the loaded object holds no tensor.

    Returns:
        The unpickled object.

    Raises:
        CheckpointError: The file is missing, is not a checkpoint, is
            corrupt, holds no tensors, or references a global that is not
            allowed.
    """
    allow_mmengine_checkpoint_globals()
    if isinstance(source, (str, os.PathLike)):
        path = osp.expanduser(os.fspath(source))
        name = name or path
        if not osp.exists(path):
            raise CheckpointNotFoundError(
                f'{name}: checkpoint file does not exist.')
        if osp.isdir(path):
            raise CheckpointError(
                f'{name}: is a directory, not a checkpoint file.')
        source = path
    name = name or '<checkpoint>'
    try:
        if is_legacy_tar_checkpoint(source):
            # PyTorch 0.1's tar format (the official ImageNet ResNets), which
            # torch.load refuses with weights_only=True: read by our own
            # restricted unpickler instead.
            checkpoint = load_legacy_tar_checkpoint(source, map_location)
        else:
            checkpoint = torch.load(
                source, map_location=map_location, weights_only=True)
    except LegacyTarError as exc:
        raise CheckpointError(f'{name}: legacy .tar checkpoint: {exc}.') from exc
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001 - translated and chained below
        raise _translate_load_error(exc, name, source) from exc
    if require_tensors and not _holds_tensor(checkpoint):
        what = (f'a dict with keys {sorted(map(str, checkpoint))[:10]}'
                if isinstance(checkpoint, Mapping) else
                f'a {type(checkpoint).__name__}')
        raise CheckpointError(
            f'{name}: not a model checkpoint: it holds no tensors ({what}).')
    return checkpoint


@contextlib.contextmanager
def _forced_weights_only() -> Iterator[None]:
    """Force ``weights_only=True`` for every ``torch.load`` in the block.

    mmengine's remote loaders call ``torch.hub.load_state_dict_from_url``,
    which passes ``weights_only=False``; torch's documented
    ``TORCH_FORCE_WEIGHTS_ONLY_LOAD`` switch overrides that.
    """
    keys = ('TORCH_FORCE_WEIGHTS_ONLY_LOAD', 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD')
    saved = {key: os.environ.get(key) for key in keys}
    os.environ['TORCH_FORCE_WEIGHTS_ONLY_LOAD'] = '1'
    os.environ.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _safe_local_loader(filename: str, map_location: MapLocation) -> Any:
    """mmengine ``CheckpointLoader`` scheme for local files (prefix '')."""
    return safe_torch_load(filename, map_location=map_location,
                           require_tensors=False)


_safe_local_loader.__name__ = 'load_from_local'  # mmengine logs name[10:]
setattr(_safe_local_loader, _SAFE_MARK, True)


def _wrap_remote_loader(loader: Callable) -> Callable:
    """Wrap an mmengine remote loader so it loads weights-only."""

    @functools.wraps(loader)
    def safe_loader(filename: str, map_location: MapLocation = None) -> Any:
        allow_mmengine_checkpoint_globals()
        try:
            with _forced_weights_only():
                return loader(filename, map_location)
        except CheckpointError:
            raise
        except (pickle.UnpicklingError, EOFError) as exc:
            raise _translate_load_error(exc, filename) from exc
        except RuntimeError as exc:
            if _refused_global(str(exc)) is None and 'zip' not in str(exc):
                raise
            raise _translate_load_error(exc, filename) from exc

    setattr(safe_loader, _SAFE_MARK, True)
    return safe_loader


def _safe_http_loader(filename: str, map_location: MapLocation = None) -> Any:
    """mmengine ``CheckpointLoader`` scheme for http(s) URLs.

    The length-checked, cached download of :mod:`mmcenternet.utils.download`
    (same cache folder as mmengine's), loaded by :func:`safe_torch_load`, so
    that PyTorch 0.1 ``.tar`` files load too and a truncated transfer is never
    cached. No hash check, as mmengine's own http loader.
    """
    from .download import load_pretrained_checkpoint  # it imports this module
    return load_pretrained_checkpoint(filename, check_hash=False,
                                      map_location=map_location)


_safe_http_loader.__name__ = 'load_from_http'  # mmengine logs name[10:]
setattr(_safe_http_loader, _SAFE_MARK, True)


def install_safe_checkpoint_loaders() -> None:
    """Route mmengine's checkpoint loading through weights-only loaders.

    Replaces the local-file scheme of ``mmengine.runner.CheckpointLoader``
    with :func:`safe_torch_load` (clear :class:`CheckpointError` messages),
    the http(s) scheme with the checked download of
    :mod:`mmcenternet.utils.download` (then :func:`safe_torch_load`), and
    wraps every other registered scheme (torchvision://, open-mmlab://,
    s3://, ...) so its ``torch.load`` runs with ``weights_only=True``. This
    covers ``Runner.resume``, ``load_from`` and ``Pretrained`` init.
    Idempotent.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    allow_mmengine_checkpoint_globals()
    # ``_schemes`` is the only list of registered schemes mmengine keeps.
    for prefix, loader in list(CheckpointLoader._schemes.items()):
        if getattr(loader, _SAFE_MARK, False):
            continue
        if prefix == '':
            new = _safe_local_loader
        elif prefix in ('http://', 'https://'):
            new = _safe_http_loader
        else:
            new = _wrap_remote_loader(loader)
        CheckpointLoader.register_scheme(prefix, new, force=True)


def enable_safe_checkpoint_loading() -> None:
    """Allow-list mmengine checkpoint types and install the safe loaders."""
    allow_mmengine_checkpoint_globals()
    install_safe_checkpoint_loaders()


# ---------------------------------------------------------------------------
# Strict loading into a model
# ---------------------------------------------------------------------------
def extract_state_dict(checkpoint: Mapping, name: str = '<checkpoint>'
                       ) -> 'OrderedDict[str, torch.Tensor]':
    """Get the model weights out of a loaded checkpoint.

    Accepts ``{'state_dict': ...}``, ``{'model': ...}`` or a bare state dict,
    and strips a ``module.`` prefix (left by DataParallel / DDP).

    Args:
        checkpoint: The loaded checkpoint.
        name: The file name to report in errors.

    Returns:
        The state dict (keeps torch's ``_metadata``).

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
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise CheckpointError(
            f'{name}: no state dict found: expected a "state_dict" or "model" '
            f'entry or a dict of tensors, got keys {sorted(state)[:10]}.')
    non_tensor = [k for k in state if k not in tensors]
    if non_tensor:
        raise CheckpointError(
            f'{name}: the state dict holds non-tensor entries '
            f'{non_tensor[:10]}.')
    metadata = getattr(state, '_metadata', None)
    result: OrderedDict = OrderedDict()
    for key, value in state.items():
        result[key[len('module.'):] if key.startswith('module.') else key] = \
            value
    if metadata is not None:
        result._metadata = OrderedDict(  # type: ignore[attr-defined]
            (k[len('module.'):] if k.startswith('module.') else
             ('' if k == 'module' else k), v) for k, v in metadata.items())
    return result


#: How the tools and the config switch strict loading off (named in errors).
NON_STRICT_HINT = (
    'To load only the matching weights, pass --no-strict-load (tools/train.py, '
    'tools/test.py, demo/image_demo.py, tools/analysis_tools/benchmark.py), '
    'set strict_load = False in the config, or call '
    'init_detector(..., strict=False).')


def _group(keys: List[str], depth: int = 2) -> str:
    """``'backbone.layer4 (30), neck.layers (12)'``: counts by module."""
    counts: 'OrderedDict[str, int]' = OrderedDict()
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
        text += f', ... ({len(items) - limit} more; by module: ' \
                f'{_group(items)})'
    return text


def weight_mismatch(model_state: Mapping[str, torch.Tensor],
                    state: Mapping[str, torch.Tensor],
                    limit: int = 5) -> Tuple[str, List[str]]:
    """Compare a checkpoint's weights with a model's.

    Args:
        model_state: The model's ``state_dict()``.
        state: The checkpoint's state dict.
        limit: Keys listed per kind before the rest is summarised by module.

    Returns:
        ``(report, loadable)``: the missing / unexpected keys and shape
        mismatches in one short paragraph ('' when the two fit), and the
        checkpoint keys that can be loaded (present in the model with the
        same shape).
    """
    missing = [k for k in model_state if k not in state]
    unexpected = [k for k in state if k not in model_state]
    loadable, shapes = [], []
    for key, value in state.items():
        if key not in model_state:
            continue
        if tuple(value.shape) == tuple(model_state[key].shape):
            loadable.append(key)
        else:
            shapes.append(f'{key}: checkpoint {tuple(value.shape)} vs model '
                          f'{tuple(model_state[key].shape)}')
    parts = [_listed(title, items, limit) for title, items in (
        ('missing keys', missing), ('unexpected keys', unexpected),
        ('shape mismatches', shapes)) if items]
    return '; '.join(parts), loadable


def checkpoint_hint(state: Mapping[str, torch.Tensor], name: str) -> str:
    """A hint for checkpoints of a known foreign layout ('' otherwise).

    An official CenterNet checkpoint (xingyizhou/CenterNet: ``hm.*`` heads
    and an official backbone layout, see
    :func:`mmcenternet.models.utils.official_ckpt.detect_arch`) gets the
    converter's command line; a bare ImageNet backbone gets the
    ``init_cfg`` that loads it.
    """
    from mmcenternet.models.utils.official_ckpt import (ConversionError,
                                                        detect_arch,
                                                        strip_module_prefix)
    keys = strip_module_prefix(state)
    if any(k.startswith('hm.') for k in keys):
        try:
            arch = f' (arch {detect_arch(keys)})'
        except ConversionError:
            arch = ''
        return (f' Its keys look like an official CenterNet checkpoint{arch}: '
                'convert it first with python tools/model_converters/'
                f'centernet_official2mmcn.py {name} CONVERTED.pth.')
    if 'conv1.weight' in keys and any(k.startswith('layer1.') for k in keys):
        return (' Its keys look like a bare (ImageNet) backbone: load it into '
                'the backbone only, with model.backbone.init_cfg='
                f"dict(type='Pretrained', checkpoint='{name}').")
    return ''


def _revise_keys(state: 'OrderedDict[str, torch.Tensor]',
                 revise_keys: Sequence[Tuple[str, str]]
                 ) -> 'OrderedDict[str, torch.Tensor]':
    """Apply mmengine-style ``(pattern, replacement)`` key renames."""
    if not revise_keys:
        return state
    metadata = getattr(state, '_metadata', None)
    revised: OrderedDict = OrderedDict()
    for key, value in state.items():
        for pattern, replacement in revise_keys:
            key = re.sub(pattern, replacement, key)
        revised[key] = value
    if metadata is not None:
        revised._metadata = metadata  # type: ignore[attr-defined]
    return revised


def _unwrap(model: nn.Module) -> nn.Module:
    """The detector inside a DDP / mmengine wrapper or a TTA model."""
    from mmengine.model import BaseTTAModel, is_model_wrapper
    if is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        return model.module
    return model


def load_model_weights(model: nn.Module,
                       checkpoint: Union[str, os.PathLike, Mapping],
                       name: Optional[str] = None,
                       strict: bool = True,
                       map_location: MapLocation = 'cpu',
                       revise_keys: Sequence[Tuple[str, str]] = ()) -> dict:
    """Load weights into ``model``: THE loader of every path that does so.

    ``tools/test.py``, ``tools/train.py`` (``load_from`` and ``--resume``,
    through :class:`mmcenternet.engine.CenterNetRunner`), the demo and
    :func:`mmcenternet.apis.init_detector`, and the benchmark all load
    through here, so a checkpoint that does not fit the model is refused the
    same way everywhere (mmengine's own loader is not strict and prints one
    ``size mismatch`` line per tensor, then evaluates a half-loaded model).

    Args:
        model: The model (a DDP / mmengine wrapper or a TTA model is
            unwrapped).
        checkpoint: A checkpoint path (loaded weights-only) or an already
            loaded checkpoint dict.
        name: The file name for messages (defaults to the path).
        strict: Refuse a checkpoint whose keys or shapes differ from the
            model's. With False, load the tensors that fit and log one
            warning with the same summary.
        map_location: As for :func:`torch.load` (paths only).
        revise_keys: ``(pattern, replacement)`` regex renames applied to the
            checkpoint's keys first (as mmengine's ``revise_keys``).

    Returns:
        The whole checkpoint dict (``meta``, ``state_dict``, ...).

    Raises:
        CheckpointError: The file is missing, not a checkpoint, unsafe, or
            (when ``strict``) does not fit the model; the message names the
            file, summarises the missing / unexpected / mismatched keys,
            gives a conversion hint for official checkpoints and says how
            to load non-strictly.
    """
    if isinstance(checkpoint, (str, os.PathLike)):
        name = name or os.fspath(checkpoint)
        checkpoint = safe_torch_load(checkpoint, map_location=map_location)
    name = name or '<checkpoint>'
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(f'{name}: expected a dict checkpoint, got '
                              f'{type(checkpoint).__name__}.')
    state = _revise_keys(extract_state_dict(checkpoint, name), revise_keys)
    target = _unwrap(model)
    report, loadable = weight_mismatch(target.state_dict(), state)
    if not report:
        target.load_state_dict(state, strict=True)
        return dict(checkpoint)
    what = (f'{name}: the checkpoint does not fit the model '
            f'{type(target).__name__}: {report}.')
    if strict:
        raise CheckpointError(
            f'{what}{checkpoint_hint(state, name)} {NON_STRICT_HINT}')
    from .messages import warn_and_log
    kept: OrderedDict = OrderedDict((k, state[k]) for k in loadable)
    if hasattr(state, '_metadata'):
        kept._metadata = state._metadata  # type: ignore[attr-defined]
    target.load_state_dict(kept, strict=False)
    message = (f'{what} Non-strict loading (strict_load=False): loaded '
               f'{len(kept)} of {len(target.state_dict())} model tensors, '
               'the others keep their initial values.')
    warn_and_log(message, CheckpointMismatchWarning)
    return dict(checkpoint)


def load_checkpoint_strict(model: nn.Module,
                           filename: str,
                           map_location: MapLocation = 'cpu') -> dict:
    """Load a checkpoint file safely and strictly into ``model``.

    Same as ``load_model_weights(model, filename, strict=True)``.

    Raises:
        CheckpointError: See :func:`load_model_weights`.
    """
    return load_model_weights(model, filename, strict=True,
                              map_location=map_location)


def check_resumable(checkpoint: Mapping, name: str) -> None:
    """Refuse to resume from a file that is not a training checkpoint.

    mmengine's ``Runner.resume`` reads ``meta.epoch``, ``meta.iter`` and the
    message hub without a check, so a weights-only file (a converted or
    downloaded model, a ``best_*.pth`` of another tool) fails with
    ``KeyError: 'epoch'``.

    Raises:
        CheckpointError: Naming the file and what it lacks, and pointing at
            ``load_from`` for starting a new training from its weights.
    """
    meta = checkpoint.get('meta') if isinstance(checkpoint, Mapping) else None
    lacks = [key for key in ('epoch', 'iter')
             if not isinstance(meta, Mapping) or key not in meta]
    if 'message_hub' not in checkpoint:
        lacks.append('message_hub')
    if lacks:
        raise CheckpointError(
            f'{name}: cannot resume from it: it is not a training checkpoint '
            f'written by tools/train.py (no {", ".join(lacks)}; it holds '
            f'{", ".join(sorted(map(str, checkpoint))[:6])}). To start a new '
            f'training from its weights use --cfg-options load_from={name} '
            'without --resume.')


# ---------------------------------------------------------------------------
# Atomic writing
# ---------------------------------------------------------------------------
def fsync_file(path: str) -> None:
    """Flush a written file's data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: str) -> None:
    """Flush a folder's entries (a rename) to disk, where supported."""
    try:
        fd = os.open(path or '.', os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temp_path_for(path: str) -> str:
    """A unique hidden temporary name next to ``path`` (same folder)."""
    folder, base = osp.split(osp.abspath(path))
    return osp.join(folder, f'.{base}.tmp-{os.getpid()}-{os.urandom(3).hex()}')


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file, fsync, replace).

    Args:
        path: Target file; its folder is created if needed.
        data: The bytes to write.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = temp_path_for(path)
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    fsync_dir(folder)


def atomic_write_text(path: str, text: str, encoding: str = 'utf-8') -> None:
    """Write ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode(encoding))


def atomic_torch_save(obj: Any, path: str) -> None:
    """``torch.save`` to ``path`` atomically (temp file, fsync, replace)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())
