"""Weights-only reading of PyTorch's oldest checkpoint format (the ``.tar`` one).

The ImageNet ResNets that the official CenterNet code downloads
(``resnet18-5c106cde.pth``, ``resnet101-5d3b4d8f.pth``, the ``model_urls`` of
``msra_resnet.py`` / ``resnet_dcn.py``) were written by PyTorch 0.1 as a tar
archive of four members: ``sys_info`` (a pickled dict), ``pickle`` (the saved
object, tensors referenced by persistent ids), ``tensors`` (per tensor: a
pickled ``(key, storage key, tensor type)`` then its sizes, strides and storage
offset as raw integers) and ``storages`` (per storage: a pickled
``(key, location, storage type)`` then its element count and raw bytes,
followed by a pickled list of storage views). This is how torch's
``serialization._legacy_load`` reads them (torch's ``hub.py`` itself notes that "our
legacy serialization format was in tar. E.g. resnet18-5c106cde.pth").

``torch.load(..., weights_only=True)`` refuses this format outright ("Cannot
use weights_only=True with files saved in the legacy .tar format"), and this
project never loads with ``weights_only=False``. So this module reads it
itself, unpickling every member with an unpickler whose ``find_class`` only
returns ``collections.OrderedDict`` and markers for the legacy ``torch.*Storage``
/ ``torch.*Tensor`` type names (data, never called), and whose persistent ids
may only name tensors read from the archive: a file that asks for any other
global (``os.system``, a pickled ``nn.Module`` class, ...) is refused before
anything runs. Nothing is extracted to disk.
"""
from __future__ import annotations

import io
import os
import pickle
import struct
import tarfile
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, BinaryIO, Dict, Mapping, Optional, Union

import torch

from mmcenternet.errors import CheckpointError

__all__ = ['is_legacy_tar_checkpoint', 'load_legacy_tar_checkpoint']

#: Legacy storage class name -> dtype (the types PyTorch 0.1 could save).
_STORAGE_DTYPES: Dict[str, torch.dtype] = {
    'DoubleStorage': torch.float64, 'FloatStorage': torch.float32,
    'HalfStorage': torch.float16, 'LongStorage': torch.int64,
    'IntStorage': torch.int32, 'ShortStorage': torch.int16,
    'CharStorage': torch.int8, 'ByteStorage': torch.uint8,
}
_TENSOR_TYPES = frozenset(n.replace('Storage', 'Tensor') for n in _STORAGE_DTYPES)
_MEMBERS = ('pickle', 'tensors', 'storages')


@dataclass(frozen=True)
class _StorageType:
    """Stands for ``torch.<X>Storage`` in a legacy pickle (data only)."""
    name: str

    @property
    def dtype(self) -> torch.dtype:
        return _STORAGE_DTYPES[self.name]


@dataclass(frozen=True)
class _TensorType:
    """Stands for ``torch.<X>Tensor`` in a legacy pickle (data only)."""
    name: str


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves no global but a fixed allow-list.

    Args:
        file: The stream to read.
        tensors: Tensors the persistent ids of the main pickle may name
            (``None``: persistent ids are not allowed).
    """

    def __init__(self, file: BinaryIO,
                 tensors: Optional[Mapping[int, torch.Tensor]] = None) -> None:
        # Python 2 pickles (PyTorch 0.1) store ``str`` as bytes: decode them.
        super().__init__(file, encoding='utf-8')
        self._tensors = tensors

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ('collections', 'OrderedDict'):
            return OrderedDict
        if module == 'torch' and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if module == 'torch' and name in _TENSOR_TYPES:
            return _TensorType(name)
        raise CheckpointError(
            f'refused to unpickle {module}.{name!s} for safety (a legacy '
            'checkpoint may only reference OrderedDict and torch storage / '
            'tensor types)')

    def persistent_load(self, pid: Any) -> torch.Tensor:
        if isinstance(pid, tuple):
            raise CheckpointError(
                'refused to unpickle a pickled nn.Module class for safety '
                '(the file holds a whole model saved with torch.save(model), '
                'not a state dict)')
        if self._tensors is None:
            raise CheckpointError('unexpected persistent id in a metadata record')
        try:
            return self._tensors[int(pid)]
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f'persistent id {pid!r} names no tensor of '
                                 'the archive') from exc


def _unpickle(stream: BinaryIO,
              tensors: Optional[Mapping[int, torch.Tensor]] = None) -> Any:
    """One restricted ``pickle.load`` from ``stream`` (reads exactly one
    pickle: ``io.BytesIO`` has no ``peek``, so nothing is read ahead)."""
    try:
        return _RestrictedUnpickler(stream, tensors).load()
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001 - any unpickling failure
        raise CheckpointError(f'corrupt pickle record: {type(exc).__name__}: '
                             f'{exc}') from exc


def _read_exact(stream: BinaryIO, size: int, what: str) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise CheckpointError(f'{what} ends early ({len(data)} of {size} bytes): '
                             'the file is truncated')
    return data


def _read_count(stream: BinaryIO, what: str) -> int:
    """The pickled record count that starts the ``storages`` / ``tensors`` members."""
    count = _unpickle(stream)
    if not isinstance(count, int) or count < 0:
        raise CheckpointError(f'bad {what} count {count!r}')
    return count


def _read_storages(stream: BinaryIO) -> Dict[int, torch.Tensor]:
    """The ``storages`` member: key -> flat tensor over the storage's data."""
    storages: Dict[int, torch.Tensor] = {}
    for _ in range(_read_count(stream, 'storage')):
        record = _unpickle(stream)
        if not (isinstance(record, tuple) and len(record) == 3
                and isinstance(record[2], _StorageType)):
            raise CheckpointError(f'bad storage record {record!r}')
        key, _location, storage_type = record
        (numel, ) = struct.unpack('<q', _read_exact(stream, 8, 'storage size'))
        if numel < 0:
            raise CheckpointError(f'negative storage size {numel}')
        itemsize = torch.empty((), dtype=storage_type.dtype).element_size()
        raw = _read_exact(stream, numel * itemsize, f'storage {key}')
        storages[key] = (torch.frombuffer(bytearray(raw), dtype=storage_type.dtype)
                         if numel else torch.empty(0, dtype=storage_type.dtype))
    views = _unpickle(stream)
    if not isinstance(views, list):
        raise CheckpointError(f'bad storage view list {type(views).__name__}')
    for view in views:
        try:
            target, root, offset, numel = view
            storages[target] = storages[root][offset:offset + numel]
        except (TypeError, ValueError, KeyError) as exc:
            raise CheckpointError(f'bad storage view {view!r}') from exc
    return storages


def _read_tensors(stream: BinaryIO,
                  storages: Mapping[int, torch.Tensor]) -> Dict[int, torch.Tensor]:
    """The ``tensors`` member: key -> tensor viewing its storage."""
    tensors: Dict[int, torch.Tensor] = {}
    for _ in range(_read_count(stream, 'tensor')):
        record = _unpickle(stream)
        if not (isinstance(record, tuple) and len(record) == 3):
            raise CheckpointError(f'bad tensor record {record!r}')
        key, storage_key, _tensor_type = record
        (ndim, ) = struct.unpack('<i', _read_exact(stream, 4, 'tensor header'))
        _read_exact(stream, 4, 'tensor header')  # ndim was written as 8 bytes
        if not 0 <= ndim <= 64:
            raise CheckpointError(f'bad tensor rank {ndim}')
        sizes = struct.unpack(f'<{ndim}q', _read_exact(stream, 8 * ndim, 'tensor sizes'))
        strides = struct.unpack(f'<{ndim}q',
                                _read_exact(stream, 8 * ndim, 'tensor strides'))
        (offset, ) = struct.unpack('<q', _read_exact(stream, 8, 'tensor offset'))
        if storage_key not in storages:
            raise CheckpointError(f'tensor {key} names a missing storage {storage_key}')
        try:
            tensors[key] = storages[storage_key].as_strided(sizes, strides, offset)
        except RuntimeError as exc:
            raise CheckpointError(f'tensor {key} does not fit its storage: {exc}') from exc
    return tensors


def _open_tar(source: Union[str, os.PathLike, BinaryIO]) -> tarfile.TarFile:
    if isinstance(source, (str, os.PathLike)):
        return tarfile.open(os.fspath(source), mode='r:')
    return tarfile.open(fileobj=source, mode='r:')


def is_legacy_tar_checkpoint(source: Union[str, os.PathLike, BinaryIO]) -> bool:
    """Whether ``source`` is an uncompressed tar whose first member is a legacy one.

    A file object is rewound to where it was.
    """
    position = None
    try:
        if not isinstance(source, (str, os.PathLike)):
            position = source.tell()  # not seekable: torch.load will say what is wrong
        with _open_tar(source) as tar:
            first = tar.next()
        # The first member decides, so that a truncated archive is reported as such.
        return first is not None and first.name in ('sys_info', ) + _MEMBERS
    except (tarfile.TarError, OSError, ValueError, EOFError):
        return False
    finally:
        if position is not None:
            source.seek(position)


def load_legacy_tar_checkpoint(source: Union[str, os.PathLike, BinaryIO],
                               map_location: Any = 'cpu') -> Any:
    """Loads a legacy ``.tar`` checkpoint without running any pickled code.

    Args:
        source: The file path or a seekable binary file object.
        map_location: ``None``, ``'cpu'``, a device string or a
            :class:`torch.device` (the data is read on the CPU, then moved).

    Returns:
        The saved object (for the official ImageNet files, an ``OrderedDict``
        of tensors).

    Raises:
        CheckpointError: The archive is truncated or malformed, or a pickle in
            it references a global outside the allow-list.
    """
    if map_location is not None and not isinstance(map_location, (str, torch.device)):
        raise CheckpointError('map_location must be None, a device string or a '
                             f'torch.device for a legacy .tar checkpoint, got '
                             f'{type(map_location).__name__}')
    try:
        with _open_tar(source) as tar:
            members = {}
            for name in ('sys_info', ) + _MEMBERS:
                try:
                    handle = tar.extractfile(name)
                except KeyError:
                    handle = None
                if handle is None and name != 'sys_info':
                    raise CheckpointError(f'the archive has no {name!r} member')
                members[name] = None if handle is None else handle.read()
    except tarfile.TarError as exc:
        raise CheckpointError(f'the tar archive is truncated or corrupt ({exc})') from exc
    except EOFError as exc:
        raise CheckpointError('the tar archive is truncated') from exc
    if members['sys_info'] is not None:
        info = _unpickle(io.BytesIO(members['sys_info']))
        if isinstance(info, dict) and info.get('little_endian') is False:
            raise CheckpointError('big-endian legacy checkpoints are not supported')
    storages = _read_storages(io.BytesIO(members['storages']))
    tensors = _read_tensors(io.BytesIO(members['tensors']), storages)
    result = _unpickle(io.BytesIO(members['pickle']), tensors)
    if map_location not in (None, 'cpu') and isinstance(result, Mapping):
        result = type(result)((k, v.to(map_location) if torch.is_tensor(v) else v)
                              for k, v in result.items())
    return result
