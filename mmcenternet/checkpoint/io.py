"""Reading checkpoints safely: weights-only, with one-line errors.

Every checkpoint is unpickled with ``torch.load(..., weights_only=True)``, so that a file
downloaded from anywhere cannot run code; ``weights_only=False`` is never used in this
project. The few non-tensor types an mmengine 0.10.7 ``Runner`` checkpoint holds (the
message hub's ``HistoryBuffer``, numpy arrays, dtypes and scalars) are allowed only for the
duration of our own loads, with torch's :class:`torch.serialization.safe_globals` context
(:func:`checkpoint_safe_globals`): torch's process-wide allow-list is never changed.
PyTorch 0.1 ``.tar`` files (the official ImageNet ResNets), which ``weights_only`` refuses,
are read by :mod:`~mmcenternet.checkpoint.legacy_tar` with an equally restricted unpickler;
URLs go through the cached, checked download of :mod:`~mmcenternet.checkpoint.download`.

Nothing here changes mmengine: the project's runner, tools, ``init_detector`` and
``PretrainedMapped`` call :func:`safe_load` themselves. Other code that loads through
mmengine's ``CheckpointLoader`` (``load_checkpoint``, ``init_cfg=dict(type='Pretrained')``)
may opt in explicitly with :func:`enable_safe_checkpoint_loading` (and undo it with
:func:`disable_safe_checkpoint_loading`).
"""
from __future__ import annotations

import contextlib
import functools
import io
import os
import os.path as osp
import pickle
import re
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Union

import numpy as np
import torch

from mmcenternet.errors import CheckpointError, CheckpointNotFoundError
from .download import is_url, load_url
from .legacy_tar import is_legacy_tar_checkpoint, load_legacy_tar_checkpoint

__all__ = ['safe_load', 'checkpoint_safe_globals', 'NUMPY_MULTIARRAY_NAMES',
           'enable_safe_checkpoint_loading', 'disable_safe_checkpoint_loading']

MapLocation = Union[str, torch.device, Callable, dict, None]

#: The module names of numpy's ``multiarray`` in pickles written under numpy 2 and 1.x.
NUMPY_MULTIARRAY_NAMES = ('numpy._core.multiarray', 'numpy.core.multiarray')


def _history_buffer_method(obj: Any, name: str) -> Any:
    """Stand-in for ``builtins.getattr`` while unpickling a checkpoint.

    ``HistoryBuffer.__getstate__`` pickles its statistics methods (``min``, ``max``,
    ``current``, ``mean``) as ``getattr(HistoryBuffer, 'min')``. Allowing the real
    ``getattr`` would hand a malicious pickle an attribute walk over every allowed object,
    so this stand-in only returns public functions defined on ``HistoryBuffer`` itself.

    Raises:
        pickle.UnpicklingError: For anything else.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    member = vars(HistoryBuffer).get(name) if obj is HistoryBuffer else None
    if (isinstance(name, str) and not name.startswith('_')
            and isinstance(member, type(_history_buffer_method))):
        return member
    raise pickle.UnpicklingError(
        f'Unsupported global: GLOBAL builtins.getattr({obj!r}, {name!r}) was not an allowed '
        'global (only HistoryBuffer statistics methods may be looked up)')


@functools.lru_cache(maxsize=1)
def _allowed_globals() -> tuple:
    """The types an mmengine 0.10.7 Runner checkpoint holds (found by saving one and loading
    it weights-only): ``HistoryBuffer``, the narrow ``getattr`` stand-in, and numpy's array,
    dtype and scalar types, with ``multiarray._reconstruct`` / ``multiarray.scalar`` under
    both module names checkpoints reference (numpy 2 and 1.x)."""
    from mmengine.logging.history_buffer import HistoryBuffer
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 1.26
        from numpy.core import multiarray
    safe: list = [HistoryBuffer, (_history_buffer_method, 'builtins.getattr'), np.ndarray,
                  np.dtype, multiarray._reconstruct, multiarray.scalar]
    # every concrete dtype class (Float64DType, ...): the BUILD of a pickled dtype checks it
    safe += [getattr(np.dtypes, name) for name in np.dtypes.__all__]
    for module in NUMPY_MULTIARRAY_NAMES:
        safe += [(multiarray._reconstruct, f'{module}._reconstruct'),
                 (multiarray.scalar, f'{module}.scalar')]
    return tuple(safe)


def checkpoint_safe_globals() -> 'torch.serialization.safe_globals':
    """torch's ``safe_globals`` context with the types of an mmengine Runner checkpoint.

    ``with checkpoint_safe_globals(): torch.load(path, weights_only=True)`` reads a Runner
    checkpoint; torch's process-wide allow-list is unchanged after the block.
    """
    return torch.serialization.safe_globals(list(_allowed_globals()))


_REFUSED_PATTERNS = (
    re.compile(r'GLOBAL (\S+) whose module \S+ is blocked'),
    re.compile(r'Unsupported global: GLOBAL (.+?) was not an allowed global'),
    re.compile(r'Trying to call reduce for unrecognized function (.+?)$', re.M),
    re.compile(r'Can only build .*?but got (.+?)$', re.M),
    re.compile(r'Can only create new object for .*?but got (.+?)$', re.M),
)


def _refused_global(message: str) -> Optional[str]:
    """The global a weights-only unpickling refused, if any."""
    for pattern in _REFUSED_PATTERNS:
        match = pattern.search(message)
        if match:
            return match.group(1).strip().rstrip('.')
    return None


def _is_zip(source: Any) -> bool:
    """Whether ``source`` (a path) starts like a zip archive (``torch.save``)."""
    if not isinstance(source, (str, os.PathLike)):
        return False
    try:
        with open(source, 'rb') as f:
            return f.read(4) == b'PK\x03\x04'
    except OSError:
        return False


def _translate_load_error(exc: BaseException, name: str, source: Any = None
                          ) -> CheckpointError:
    """A ``torch.load`` failure as a one-line :class:`CheckpointError` (the caller chains
    ``exc``); ``source`` is the loaded path, whose header is looked at."""
    message = str(exc)
    refused = _refused_global(message)
    if refused is not None:
        return CheckpointError(
            f'{name}: refused to unpickle {refused!r} for safety. Checkpoints are loaded with '
            'weights_only=True so that a file cannot run code; this one references a global '
            'outside the allow-list. If you trust the file and the object is plain data, '
            'load it inside torch.serialization.safe_globals([...]).')
    opcode = re.search(r'Unsupported operand (\d+)', message)
    if opcode:
        return CheckpointError(
            f'{name}: not a PyTorch checkpoint (a plain pickle using opcode '
            f'{opcode.group(1)}, which torch.save never writes).')
    if isinstance(exc, EOFError) or not message:
        return CheckpointError(f'{name}: not a checkpoint (the file is empty or ends too '
                               'early).')
    if 'zip archive' in message or 'central directory' in message or _is_zip(source):
        return CheckpointError(
            f'{name}: the checkpoint is truncated or corrupt (its zip archive cannot be '
            'read); it was probably written by a run that was killed while saving. Use an '
            'earlier checkpoint.')
    if isinstance(exc, (KeyError, pickle.UnpicklingError, ValueError, RuntimeError,
                        TypeError, AttributeError)):
        # a KeyError here is torch's legacy-format magic-number lookup
        lines = message.strip().splitlines()
        detail = ('' if isinstance(exc, KeyError) or not lines else
                  f'; {type(exc).__name__}: {lines[0][:200]}')
        return CheckpointError(f'{name}: not a PyTorch checkpoint (neither a torch zip '
                               f'archive nor a torch pickle{detail}).')
    return CheckpointError(f'{name}: cannot load checkpoint: {type(exc).__name__}: '
                           f'{message[:300]}')


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


def _load_file(source: Union[str, io.IOBase], map_location: MapLocation, name: str) -> Any:
    """One weights-only read of a local file or a binary file object."""
    try:
        if is_legacy_tar_checkpoint(source):
            try:
                return load_legacy_tar_checkpoint(source, map_location)
            except CheckpointError as exc:
                raise CheckpointError(f'{name}: legacy .tar checkpoint: {exc}.') from exc
        with checkpoint_safe_globals():
            return torch.load(source, map_location=map_location, weights_only=True)
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001 - translated and chained
        raise _translate_load_error(exc, name, source) from exc


def safe_load(source: Union[str, os.PathLike, io.IOBase], map_location: MapLocation = 'cpu',
              name: Optional[str] = None, require_tensors: bool = True,
              cache_dir: Optional[str] = None, check_hash: bool = True) -> Any:
    """``torch.load`` with ``weights_only=True`` and clear, one-line errors.

    Args:
        source: A file path, an http(s) URL (downloaded into the cache first, see
            :func:`~mmcenternet.checkpoint.download.load_url`), another scheme of mmengine's
            ``CheckpointLoader`` (``open-mmlab://``, ``s3://``, ...; its loader, forced
            weights-only) or a binary file object.
        map_location: As for :func:`torch.load`.
        name: The name to report in errors (defaults to the path / URL).
        require_tensors: Raise when the loaded object holds no tensor.
        cache_dir: The download cache for a URL (``<torch hub dir>/checkpoints`` if None).
        check_hash: Verify the SHA-256 prefix a downloaded file's name carries.

    Raises:
        CheckpointError: The file is missing (:class:`CheckpointNotFoundError`), is not a
            checkpoint, is corrupt or truncated, holds no tensors, or references a global
            that is not allowed; a download failed.
    """
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        name = name or path
        if is_url(path):
            checkpoint = load_url(path, lambda file: _load_file(file, map_location, name),
                                  cache_dir, check_hash)
            source = None
        elif re.match(r'[a-z][a-z0-9+.-]*://', path):  # open-mmlab://, s3://, ...
            checkpoint, source = _load_remote(path, map_location), None
        else:
            path = osp.expanduser(path)
            if not osp.exists(path):
                raise CheckpointNotFoundError(f'{name}: checkpoint file does not exist.')
            if osp.isdir(path):
                raise CheckpointError(f'{name}: is a directory, not a checkpoint file.')
            source = path
    name = name or '<checkpoint>'
    if source is not None:
        checkpoint = _load_file(source, map_location, name)
    if require_tensors and not _holds_tensor(checkpoint):
        what = (f'a dict with keys {sorted(map(str, checkpoint))[:10]}'
                if isinstance(checkpoint, Mapping) else f'a {type(checkpoint).__name__}')
        raise CheckpointError(f'{name}: not a model checkpoint: it holds no tensors ({what}).')
    return checkpoint


# -------------------------------------------------------------------------------------------
# The explicit opt-in for mmengine's own loaders
# -------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _forced_weights_only() -> Iterator[None]:
    """torch's documented ``TORCH_FORCE_WEIGHTS_ONLY_LOAD`` switch for the block: it makes
    ``torch.load(..., weights_only=False)`` (mmengine's remote loaders) load weights-only."""
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


def _load_remote(filename: str, map_location: MapLocation,
                 loader: Optional[Callable] = None) -> Any:
    """mmengine's loader of a remote scheme (``loader``, or the one ``CheckpointLoader``
    picks), forced weights-only, with our allow-list and one-line errors."""
    from mmengine.runner.checkpoint import CheckpointLoader
    try:
        with _forced_weights_only(), checkpoint_safe_globals():
            if loader is None:
                return CheckpointLoader.load_checkpoint(filename, map_location)
            return loader(filename, map_location)
    except CheckpointError:
        raise
    except (pickle.UnpicklingError, EOFError) as exc:
        raise _translate_load_error(exc, filename) from exc
    except RuntimeError as exc:
        if _refused_global(str(exc)) is None and 'zip' not in str(exc):
            raise
        raise _translate_load_error(exc, filename) from exc


def _safe_scheme(prefix: str, loader: Callable) -> Callable:
    """The safe replacement of mmengine's loader for ``prefix`` (same ``__name__``, which
    mmengine logs)."""

    @functools.wraps(loader)
    def safe_loader(filename: str, map_location: MapLocation = None) -> Any:
        if prefix in ('', 'http://', 'https://'):
            return safe_load(filename, map_location=map_location, require_tensors=False)
        return _load_remote(filename, map_location, loader)

    safe_loader.mmcn_original = loader
    return safe_loader


def enable_safe_checkpoint_loading() -> None:
    """Route mmengine's ``CheckpointLoader`` schemes through :func:`safe_load`.

    An explicit opt-in for code outside this project that loads through mmengine
    (``mmengine.runner.load_checkpoint``, ``init_cfg=dict(type='Pretrained')``, another
    runner's ``load_from`` / ``resume``): local files and http(s) URLs are then read as by
    :func:`safe_load`, the other remote schemes (``open-mmlab://``, ``torchvision://``,
    ...) by mmengine's loader with weights-only loading forced. It changes mmengine for the
    whole process, so mmcenternet never calls it itself (its own loading paths call
    :func:`safe_load`); :func:`disable_safe_checkpoint_loading` restores mmengine's loaders.
    Idempotent.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    # ``_schemes`` is the only list of registered schemes mmengine keeps (read only here:
    # the replacement goes through the public ``register_scheme``).
    for prefix, loader in list(CheckpointLoader._schemes.items()):
        if not hasattr(loader, 'mmcn_original'):
            CheckpointLoader.register_scheme(prefix, _safe_scheme(prefix, loader), force=True)


def disable_safe_checkpoint_loading() -> None:
    """Undo :func:`enable_safe_checkpoint_loading`: mmengine's own loaders again."""
    from mmengine.runner.checkpoint import CheckpointLoader
    originals: Dict[str, Callable] = {
        prefix: loader.mmcn_original
        for prefix, loader in CheckpointLoader._schemes.items()
        if hasattr(loader, 'mmcn_original')}
    for prefix, loader in originals.items():
        CheckpointLoader.register_scheme(prefix, loader, force=True)
