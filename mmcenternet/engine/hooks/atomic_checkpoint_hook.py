"""A ``CheckpointHook`` whose checkpoints survive a kill at any moment.

mmengine 0.10.7 writes a checkpoint with ``LocalBackend.put`` (``open(path,
'wb')`` + ``write``) straight onto its final name, then the ``last_checkpoint``
pointer the same way, and deletes the oldest checkpoint (``max_keep_ckpts``)
*before* saving the new one. A kill at the wrong moment leaves a truncated
``epoch_N.pth``, an empty or half-written ``last_checkpoint``, or a pointer to
a deleted file, and ``--resume`` then fails or loses the run.

:class:`AtomicCheckpointHook` keeps mmengine's options and file layout but

1. has the runner write ``.epoch_N.pth.tmp-<pid>-<rand>`` in the same folder,
   ``fsync``\\ s it and ``os.replace``\\ s it onto ``epoch_N.pth``;
2. then replaces ``last_checkpoint`` the same way;
3. only then deletes checkpoints beyond ``max_keep_ckpts``;
4. removes temporary files left by killed runs when training starts.

Best checkpoints (``save_best``) go through the same atomic save. Other
storage backends (s3, ...) and ``FlexibleRunner`` fall back to mmengine's
behaviour.

Use it in a config as ``default_hooks.checkpoint = dict(
type='AtomicCheckpointHook', interval=1)`` (scope ``mmcenternet``).
"""
from __future__ import annotations

import contextlib
import os
import os.path as osp
import re
from typing import Any, Callable, Iterator, Optional

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmengine.runner import Runner

from mmcenternet.registry import HOOKS
from mmcenternet.utils.checkpoint import (atomic_write_text, fsync_dir,
                                          fsync_file)

_TMP_NAME = re.compile(r'^\..+\.tmp-(\d+)-[0-9a-f]+$')


def _pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (on this machine)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. EPERM: exists but belongs to someone else
        return True
    return True


def remove_stale_temp_files(folder: str) -> list:
    """Delete temporary checkpoint files whose writer process is gone.

    Args:
        folder: The checkpoint folder.

    Returns:
        The removed paths.
    """
    removed = []
    if not osp.isdir(folder):
        return removed
    for name in os.listdir(folder):
        match = _TMP_NAME.match(name)
        if match and not _pid_alive(int(match.group(1))):
            path = osp.join(folder, name)
            with contextlib.suppress(OSError):
                os.remove(path)
                removed.append(path)
    return removed


def atomic_runner_save(save: Callable, out_dir: str, filename: str,
                       *args: Any, **kwargs: Any) -> None:
    """Run ``Runner.save_checkpoint`` so that the file appears atomically.

    The runner writes to a hidden temporary name in ``out_dir``; the file is
    then fsync-ed and renamed onto ``filename``.

    Args:
        save: The runner's bound ``save_checkpoint``.
        out_dir: The checkpoint folder (local).
        filename: The final file name inside ``out_dir``.
        *args: Passed on to ``save``.
        **kwargs: Passed on to ``save``.
    """
    if not is_main_process():  # Runner.save_checkpoint is master-only
        save(out_dir, filename, *args, **kwargs)
        return
    final = osp.join(out_dir, filename)
    folder, base = osp.split(filename)  # a filename_tmpl may hold a folder
    tmp_name = osp.join(
        folder, f'.{base}.tmp-{os.getpid()}-{os.urandom(3).hex()}')
    tmp = osp.join(out_dir, tmp_name)
    try:
        save(out_dir, tmp_name, *args, **kwargs)
        fsync_file(tmp)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    fsync_dir(osp.dirname(final))


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """:class:`mmengine.hooks.CheckpointHook` with crash-safe writes.

    Takes exactly the arguments of ``CheckpointHook``. See the module
    docstring for what changes.
    """

    def before_train(self, runner) -> None:
        """Set up as mmengine does, then clean temp files of killed runs."""
        super().before_train(runner)
        if self._can_be_atomic(runner) and is_main_process():
            for path in remove_stale_temp_files(self.out_dir):
                print_log(f'Removed {path}, a partial checkpoint left by a '
                          'killed run.', logger='current')

    def _can_be_atomic(self, runner) -> bool:
        """Local files, written by the main process of a ``Runner``.

        (``FlexibleRunner`` strategies such as DeepSpeed write a folder from
        every rank; they keep mmengine's behaviour.)
        """
        return (isinstance(getattr(self, 'file_backend', None), LocalBackend)
                and isinstance(runner, Runner))

    @contextlib.contextmanager
    def _atomic_saves(self, runner) -> Iterator[None]:
        """Make every ``runner.save_checkpoint`` in the block atomic."""
        if not self._can_be_atomic(runner) or 'save_checkpoint' in vars(
                runner):
            yield
            return
        original = runner.save_checkpoint
        runner.save_checkpoint = (
            lambda out_dir, filename, *args, **kwargs: atomic_runner_save(
                original, out_dir, filename, *args, **kwargs))
        try:
            yield
        finally:
            del runner.save_checkpoint

    def _outdated_step(self, step: int) -> Optional[int]:
        """Update ``keep_ckpt_ids`` for ``step``; return the step to delete."""
        if self.max_keep_ckpts <= 0 or (self.keep_ckpt_ids
                                        and self.keep_ckpt_ids[-1] == step):
            return None
        outdated = None
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            outdated = self.keep_ckpt_ids.popleft()
        self.keep_ckpt_ids.append(step)
        return outdated

    def _remove_checkpoint(self, step: int) -> None:
        """Delete the checkpoint of ``step`` (file or deepspeed folder)."""
        path = self.file_backend.join_path(self.out_dir,
                                           self.filename_tmpl.format(step))
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            self.file_backend.rmtree(path)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """Save atomically, point ``last_checkpoint`` at it, then prune."""
        if not self._can_be_atomic(runner):
            super()._save_checkpoint_with_step(runner, step, meta)
            return
        outdated = self._outdated_step(step)
        if self.max_keep_ckpts > 0:
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)

        with self._atomic_saves(runner):
            runner.save_checkpoint(
                self.out_dir,
                ckpt_filename,
                self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta,
                by_epoch=self.by_epoch,
                backend_args=self.backend_args,
                **self.args)

        if not is_main_process():
            return
        atomic_write_text(
            osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        if outdated is not None and outdated != step:
            self._remove_checkpoint(outdated)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """mmengine's best-checkpoint logic with atomic writes."""
        with self._atomic_saves(runner):
            super()._save_best_checkpoint(runner, metrics)
