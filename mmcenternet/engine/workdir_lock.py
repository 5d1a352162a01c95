"""One training per work dir.

Two trainings started in the same ``--work-dir`` write the same
``epoch_N.pth``, ``last_checkpoint`` and config dump, and (when they start in
the same second) the same ``<timestamp>/`` log folder and ``scalars.json``;
each silently corrupts the other's run. :func:`work_dir_lock` takes an
exclusive ``flock`` on ``<work_dir>/.train.lock`` for the duration of a
training and refuses a second one with the pid of the first.

The kernel drops an ``flock`` when its process dies, however it dies
(``kill -9`` included), so a killed run never leaves a stale lock behind and
``--resume`` right after a kill works. Only the process of global rank 0
takes the lock (every rank of one ``torchrun`` job shares the work dir).
"""
from __future__ import annotations

import contextlib
import json
import os
import os.path as osp
import socket
import sys
import time
from typing import Iterator, Optional

try:  # POSIX only; elsewhere trainings are not locked
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from mmcenternet.errors import WorkDirBusyError

__all__ = ['work_dir_lock', 'LOCK_NAME']

LOCK_NAME = '.train.lock'


def _global_rank() -> int:
    """The launcher's global rank (0 outside distributed launches)."""
    for key in ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK'):
        if os.environ.get(key, '').isdigit():
            return int(os.environ[key])
    return 0


def _holder(fd: int) -> dict:
    """What the holding process wrote into the lock file."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return json.loads(os.read(fd, 65536).decode() or '{}')
    except (OSError, ValueError):
        return {}


def _describe(holder: dict) -> str:
    """``'pid 123 on host, started 2026-11-21 13:02:11: tools/train.py ...'``."""
    if not holder:
        return 'a process that left no details'
    started = time.strftime('%Y-%m-%d %H:%M:%S',
                            time.localtime(holder.get('started', 0)))
    return (f'pid {holder.get("pid")} on {holder.get("host")}, started '
            f'{started}: {" ".join(holder.get("argv", []))[:200]}')


@contextlib.contextmanager
def work_dir_lock(work_dir: str, rank: Optional[int] = None) -> Iterator[None]:
    """Hold the work dir's training lock for the block.

    Args:
        work_dir: The training's work dir (created if missing).
        rank: The global rank (default: from the launcher's environment);
            ranks other than 0 do not lock.

    Raises:
        WorkDirBusyError: Another live process holds the lock; the message
            names it (pid, host, start time, command line) and the choices.
    """
    rank = _global_rank() if rank is None else rank
    if rank != 0 or fcntl is None:
        yield
        return
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, LOCK_NAME)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _holder(fd)
            raise WorkDirBusyError(
                f'work dir {osp.abspath(work_dir)} is in use by another '
                f'training ({_describe(holder)}). Two trainings in one work '
                'dir overwrite each other\'s checkpoints, last_checkpoint, '
                'config dump and logs. Wait for it to finish, stop it '
                f'(kill {holder.get("pid", "PID")}), or pass another '
                '--work-dir.') from exc
        info = dict(pid=os.getpid(), host=socket.gethostname(),
                    started=time.time(), argv=list(sys.argv))
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the flock
