"""A ``CheckpointHook`` that deletes an outdated checkpoint only once the new one exists.

mmengine 0.10.7's ``CheckpointHook`` deletes the oldest checkpoint beyond ``max_keep_ckpts``
(and the previous best checkpoint) *before* it saves the new one: a kill in between, with
``max_keep_ckpts=1``, leaves ``last_checkpoint`` pointing at a deleted file and no checkpoint
at all. :class:`AtomicCheckpointHook` takes mmengine's arguments and keeps its bookkeeping
and file layout, but holds those deletions back until the save of the same hook call has
completed. The checkpoint files themselves are written atomically by
:meth:`mmcenternet.engine.CenterNetRunner.save_checkpoint`, which also resumes from the
newest complete checkpoint when ``last_checkpoint`` (written in place by mmengine) is torn.

Why a hook and not the runner: the deletions happen inside ``CheckpointHook``'s private
``_save_checkpoint_with_step`` / ``_save_best_checkpoint``, through the hook's public
``file_backend`` attribute. This hook overrides only public hook methods: it wraps its own
``file_backend`` (created by ``before_train``) so that ``remove`` / ``rmtree`` are queued,
and runs the queue at the end of ``after_train_iter`` / ``after_train_epoch`` /
``after_val_epoch``, after the save. No private mmengine method is overridden.

Use it in a config as ``default_hooks.checkpoint = dict(type='AtomicCheckpointHook',
interval=1)`` (scope ``mmcenternet``; ``configs/_base_/default_runtime.py`` does).
"""
from __future__ import annotations

from typing import Any, List, Tuple

from mmengine.hooks import CheckpointHook

from mmcenternet.registry import HOOKS

__all__ = ['AtomicCheckpointHook']


class _DeferredRemovals:
    """A file backend whose ``remove`` / ``rmtree`` wait for :meth:`flush`."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.pending: List[Tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def remove(self, path: str) -> None:
        self.pending.append(('remove', path))

    def rmtree(self, path: str) -> None:
        self.pending.append(('rmtree', path))

    def flush(self, keep: Tuple[Any, ...]) -> None:
        """Runs the queued deletions, except of the files in ``keep`` (just saved)."""
        pending, self.pending = self.pending, []
        for method, path in pending:
            if path not in keep:
                getattr(self.backend, method)(path)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """:class:`mmengine.hooks.CheckpointHook` that never deletes a checkpoint before the new
    one exists (module docstring). Takes exactly the arguments of ``CheckpointHook``."""

    def before_train(self, runner) -> None:
        super().before_train(runner)  # creates file_backend (and prunes a resumed list)
        self.file_backend = _DeferredRemovals(self.file_backend)

    def _flush(self) -> None:
        backend = getattr(self, 'file_backend', None)
        if isinstance(backend, _DeferredRemovals):
            backend.flush(keep=(getattr(self, 'last_ckpt', None),
                                getattr(self, 'best_ckpt_path', None),
                                *getattr(self, 'best_ckpt_path_dict', {}).values()))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        super().after_train_iter(runner, batch_idx, data_batch, outputs)
        self._flush()

    def after_train_epoch(self, runner) -> None:
        super().after_train_epoch(runner)
        self._flush()

    def after_val_epoch(self, runner, metrics) -> None:
        super().after_val_epoch(runner, metrics)
        self._flush()
