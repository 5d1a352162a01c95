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
from typing import Any, Callable, Iterator, Mapping, Optional, Union

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
        A list for ``torch.serialization.add_safe_globals``: the objects of
        numpy 2 (``numpy._core``) plus aliases with the numpy 1.x names
        (``numpy.core``) that older checkpoints reference.
    """
    from numpy._core import multiarray
    safe: list = [np.ndarray, np.dtype, multiarray._reconstruct,
                  multiarray.scalar]
    # Every concrete dtype class (Float64DType, Int64DType, ...): the BUILD of
    # a pickled dtype checks the type of the instance.
    safe += [getattr(np.dtypes, name) for name in np.dtypes.__all__]
    safe += [(multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
             (multiarray.scalar, 'numpy.core.multiarray.scalar')]
    return safe


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


def _mismatch_report(model_state: Mapping[str, torch.Tensor],
                     state: Mapping[str, torch.Tensor],
                     limit: int = 10) -> str:
    """Describe missing / unexpected keys and shape mismatches ('' if fine)."""
    missing = [k for k in model_state if k not in state]
    unexpected = [k for k in state if k not in model_state]
    shapes = [f'{k}: checkpoint {tuple(state[k].shape)} vs model '
              f'{tuple(model_state[k].shape)}' for k in model_state
              if k in state and state[k].shape != model_state[k].shape]
    parts = []
    for title, items in (('missing keys', missing),
                         ('unexpected keys', unexpected),
                         ('shape mismatches', shapes)):
        if items:
            more = f', ... ({len(items) - limit} more)' if len(
                items) > limit else ''
            parts.append(f'{len(items)} {title}: '
                         f'{", ".join(items[:limit])}{more}')
    return '; '.join(parts)


def load_checkpoint_strict(model: nn.Module,
                           filename: str,
                           map_location: MapLocation = 'cpu') -> dict:
    """Load a checkpoint safely and strictly into ``model``.

    Args:
        model: The model (a DDP / mmengine wrapper is unwrapped).
        filename: The checkpoint path.
        map_location: As for :func:`torch.load`.

    Returns:
        The whole loaded checkpoint (``meta``, ``state_dict``, ...).

    Raises:
        CheckpointError: The file is missing, not a checkpoint, unsafe (a
            global outside the allow-list), or its keys / shapes do not match
            the model; the message names the file and the offending keys.
    """
    checkpoint = safe_torch_load(filename, map_location=map_location)
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(f'{filename}: expected a dict checkpoint, got '
                              f'{type(checkpoint).__name__}.')
    state = extract_state_dict(checkpoint, filename)
    target = getattr(model, 'module', model)
    if not isinstance(target, nn.Module):
        target = model
    report = _mismatch_report(target.state_dict(), state)
    if report:
        raise CheckpointError(
            f'{filename}: the checkpoint does not fit the model '
            f'{type(target).__name__}: {report}.')
    target.load_state_dict(state, strict=True)
    return dict(checkpoint)


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
