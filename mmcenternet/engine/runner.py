"""The Runner of ``tools/train.py`` and ``tools/test.py``.

:class:`CenterNetRunner` is mmengine's ``Runner`` with the safety nets that a user with
messy data and mistakes needs, through the Runner's public methods, where mmengine 0.10.7
fails silently or unclearly:

- **weights** (:meth:`load_checkpoint`): ``load_from``, ``--resume`` and ``tools/test.py
  CONFIG CKPT`` read the file with :func:`mmcenternet.checkpoint.safe_load` (weights-only,
  one-line errors; mmengine's own loaders are left alone) and load it with
  :func:`mmcenternet.checkpoint.load_weights`: strict, with a short summary of missing /
  unexpected / mismatched keys instead of one ``size mismatch`` line per tensor and a
  half-loaded model, a hint for official CenterNet checkpoints, and ``strict_load = False``
  in the config (``--no-strict-load``) as the explicit opt-out;
- **checkpoints** (:meth:`save_checkpoint`): every checkpoint file (epoch, iteration, best)
  appears atomically (temporary file in the same folder, fsync, ``os.replace``), so a kill
  while saving never leaves a torn ``epoch_N.pth``; temporary files of killed runs are
  removed;
- **resume** (:meth:`resume`): a file that is not a training checkpoint is refused with a
  clear error instead of ``KeyError: 'epoch'``; a ``last_checkpoint`` left empty, torn or
  pointing at a missing file (mmengine writes it in place, after the checkpoint) resumes
  from the newest complete checkpoint next to it; the resumed run is bit-identical and
  re-runs the resumed epoch's validation
  (:class:`~mmcenternet.engine.hooks.DeterministicResumeHook`, registered when the config
  has none);
- **non-finite losses** (:meth:`build_optim_wrapper`): ``model.non_finite_loss='skip'``
  with an optim wrapper that cannot skip a step is refused before training;
- **evaluation**: metrics with ``bind_dataset`` (``CenterNetCocoMetric``) are handed their
  val / test dataset, so they score against the ground truth the dataset kept.

It is registered in ``RUNNERS``; :func:`mmcenternet.engine.launch.build_runner` uses it
unless the config names a ``runner_type``.
"""
from __future__ import annotations

import os
import os.path as osp
import re
from typing import Callable, Union

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import find_latest_checkpoint

from mmcenternet.checkpoint import (atomic_path, check_resumable, load_weights,
                                    remove_stale_temp_files, safe_load)
from mmcenternet.errors import CheckpointNotFoundError, ConfigError
from mmcenternet.registry import RUNNERS
from .hooks.deterministic_resume_hook import DeterministicResumeHook
from .optim_wrappers import GuardedAmpOptimWrapper, GuardedOptimWrapper

__all__ = ['CenterNetRunner']

#: The names ``CheckpointHook`` gives step checkpoints (``filename_tmpl``'s default).
_STEP_CHECKPOINT = re.compile(r'^(epoch|iter)_\d+\.pth$')


@RUNNERS.register_module()
class CenterNetRunner(Runner):
    """mmengine ``Runner`` with safe and strict loading, atomic checkpoints, exact resume
    and evaluation on the dataset's kept ground truth (see the module docstring).

    Takes the arguments of mmengine's ``Runner``. :meth:`from_cfg` also reads the top-level
    config key ``strict_load`` (default True).
    """

    #: Refuse checkpoints that do not fit the model (``strict_load``).
    strict_load: bool = True

    def __init__(self, *args, **kwargs) -> None:
        self._resuming = False
        super().__init__(*args, **kwargs)
        if not any(isinstance(hook, DeterministicResumeHook) for hook in self._hooks):
            self.register_hook(DeterministicResumeHook())

    @classmethod
    def from_cfg(cls, cfg) -> 'CenterNetRunner':
        """Build from a config, as mmengine, plus ``cfg.strict_load``."""
        runner = super().from_cfg(cfg)
        runner.strict_load = bool(cfg.get('strict_load', True))
        return runner

    # ------------------------------------------------------------ loading
    def load_checkpoint(self, filename: str, map_location: Union[str, Callable] = 'cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]) -> dict:
        """Load a checkpoint into the model, safely, and strictly unless ``strict_load`` is
        False (see :func:`~mmcenternet.checkpoint.load_weights`).

        Args:
            filename: Path or URL.
            map_location: As for ``torch.load``.
            strict: Force strict loading even with ``strict_load = False``.
            revise_keys: ``(pattern, replacement)`` renames of the keys (the ``module.``
                prefix is always removed).

        Raises:
            CheckpointError: Unreadable, unsafe, not a training checkpoint (when resuming),
                or not fitting the model.
        """
        checkpoint = safe_load(filename, map_location=map_location)
        if self._resuming:
            check_resumable(checkpoint, filename)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        load_weights(self.model, checkpoint, name=filename, strict=strict or self.strict_load,
                     revise_keys=[(p, r) for p, r in revise_keys if p != r'^module.'])
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def resume(self, filename: str, *args, **kwargs) -> None:
        """mmengine's ``resume``, refusing files that are not training checkpoints (instead
        of ``KeyError: 'epoch'``) and surviving a torn / dangling ``last_checkpoint``."""
        self._resuming = True
        try:
            super().resume(self._resume_file(filename), *args, **kwargs)
        finally:
            self._resuming = False

    def _resume_file(self, filename: str) -> str:
        """``filename``, or, when it is what ``last_checkpoint`` says and names no file
        (the pointer was torn by a kill, or its file removed), the newest complete step
        checkpoint next to it."""
        if osp.isfile(filename) or '://' in filename or (
                filename != find_latest_checkpoint(self.work_dir)):
            return filename
        folders = {self.work_dir, osp.dirname(filename) or self.work_dir}
        found = [osp.join(d, n) for d in folders if osp.isdir(d) for n in os.listdir(d)
                 if _STEP_CHECKPOINT.match(n)]
        if not found:
            raise CheckpointNotFoundError(
                f'{osp.join(self.work_dir, "last_checkpoint")} names {filename!r}, which does '
                'not exist, and there is no other epoch_N.pth / iter_N.pth next to it to '
                'resume from.')
        newest = max(found, key=osp.getmtime)
        self.logger.warning(f'last_checkpoint names {filename!r}, which does not exist (it '
                            f'was torn or its file removed): resuming from {newest}, the '
                            'newest checkpoint.')
        return newest

    # ------------------------------------------------------------ saving
    def save_checkpoint(self, out_dir: str, filename: str, file_client_args=None, *args,
                        **kwargs) -> None:
        """mmengine's ``save_checkpoint``, writing the file atomically.

        mmengine writes the checkpoint straight onto its final name, so a kill while saving
        leaves a torn file that ``last_checkpoint`` may point to. Here the runner writes
        ``.<name>.tmp-<pid>-<random>`` in the same folder, which is fsync-ed and renamed onto
        the final name. Non-local storage (``backend_args`` / ``file_client_args`` of
        another backend) is written as mmengine does.
        """
        backend_args = kwargs.get('backend_args')
        if file_client_args is not None or not is_main_process() or not isinstance(
                get_file_backend(out_dir, backend_args=backend_args), LocalBackend):
            return super().save_checkpoint(out_dir, filename, file_client_args, *args,
                                           **kwargs)
        final = osp.join(out_dir, filename)
        for path in remove_stale_temp_files(osp.dirname(osp.abspath(final))):
            self.logger.info(f'Removed {path}, a partial checkpoint left by a killed run.')
        with atomic_path(final) as tmp:
            super().save_checkpoint(osp.dirname(tmp), osp.basename(tmp), None, *args,
                                    **kwargs)

    # ------------------------------------------------------------ optim wrapper
    def build_optim_wrapper(self, optim_wrapper):
        """mmengine's ``build_optim_wrapper``; refuses ``non_finite_loss='skip'`` with a
        wrapper that would back-propagate the skipped step's graph-less loss."""
        built = super().build_optim_wrapper(optim_wrapper)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        if getattr(model, 'non_finite_loss', None) == 'skip' and not isinstance(
                built, (GuardedOptimWrapper, GuardedAmpOptimWrapper)):
            raise ConfigError(
                "model.non_finite_loss='skip' needs optim_wrapper.type='GuardedOptimWrapper' "
                f"(or 'GuardedAmpOptimWrapper' for AMP), got {type(built).__name__}.")
        return built

    # ------------------------------------------------------------ evaluation
    def build_val_loop(self, loop):
        """mmengine's ``build_val_loop``, then bind the dataset to metrics."""
        from mmcenternet.evaluation.metrics import bind_loop_datasets
        loop = super().build_val_loop(loop)
        bind_loop_datasets(loop)
        return loop

    def build_test_loop(self, loop):
        """mmengine's ``build_test_loop``, then bind the dataset to metrics."""
        from mmcenternet.evaluation.metrics import bind_loop_datasets
        loop = super().build_test_loop(loop)
        bind_loop_datasets(loop)
        return loop
