"""Atomic file writes: a process killed while writing leaves the old file or the new one.

Each write goes to a hidden temporary file in the target's folder
(``.<name>.tmp-<pid>-<random>``), is ``fsync``-ed and ``os.replace``-d onto the target; the
folder entry is ``fsync``-ed too. A temporary file left by a killed process is removed by
:func:`remove_stale_temp_files` once its writer is gone.
"""
from __future__ import annotations

import contextlib
import io
import os
import os.path as osp
import re
from typing import Any, Iterator, List

import torch

__all__ = ['atomic_write_bytes', 'atomic_write_text', 'atomic_torch_save', 'atomic_path',
           'temp_path_for', 'fsync_dir', 'remove_stale_temp_files']

_TMP_NAME = re.compile(r'^\..+\.tmp-(\d+)-[0-9a-f]+$')


def temp_path_for(path: str) -> str:
    """A unique hidden temporary name next to ``path`` (same folder, so same file system)."""
    folder, base = osp.split(osp.abspath(path))
    return osp.join(folder, f'.{base}.tmp-{os.getpid()}-{os.urandom(3).hex()}')


def fsync_dir(path: str) -> None:
    """Flush a folder's entries (a rename) to disk, where the platform supports it."""
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


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yields a temporary path to write; on success it is fsync-ed and renamed onto ``path``.

    On any exception (``KeyboardInterrupt`` included) the temporary file is removed and
    ``path`` is left as it was.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = temp_path_for(path)
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    fsync_dir(folder)


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (its folder is created if needed)."""
    with atomic_path(path) as tmp, open(tmp, 'wb') as f:
        f.write(data)


def atomic_write_text(path: str, text: str, encoding: str = 'utf-8') -> None:
    """Write ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode(encoding))


def atomic_torch_save(obj: Any, path: str) -> None:
    """``torch.save`` to ``path`` atomically."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. EPERM: it exists but belongs to someone else
        return True
    return True


def remove_stale_temp_files(folder: str) -> List[str]:
    """Delete the temporary files in ``folder`` whose writer process is gone.

    Returns:
        The removed paths.
    """
    removed: List[str] = []
    if not osp.isdir(folder):
        return removed
    for name in os.listdir(folder):
        match = _TMP_NAME.match(name)
        if match and not _pid_alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                os.remove(osp.join(folder, name))
                removed.append(osp.join(folder, name))
    return removed
