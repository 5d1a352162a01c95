"""The Runner of ``tools/train.py`` and ``tools/test.py``.

:class:`CenterNetRunner` is mmengine's ``Runner`` with the safety nets that
a user with messy data and mistakes needs, in the places where mmengine
0.10.7 fails silently or unclearly:

- **weights**: ``load_from``, ``--resume`` and ``tools/test.py CONFIG CKPT``
  load through :func:`mmcenternet.utils.checkpoint.load_model_weights`:
  strict (a short summary of missing / unexpected / mismatched keys instead
  of one ``size mismatch`` line per tensor and a half-loaded model), with a
  hint for official CenterNet checkpoints, and ``strict_load = False`` in
  the config (``--no-strict-load``) as the explicit opt-out;
- **resume**: a file that is not a training checkpoint is refused with a
  clear error instead of ``KeyError: 'epoch'``; the resumed run is
  bit-identical and re-runs the resumed epoch's validation
  (:class:`~mmcenternet.engine.hooks.DeterministicResumeHook`, registered
  when the config has none);
- **DDP**: the model is wrapped in
  :class:`~mmcenternet.models.detectors.loss_guard.GuardedDistributedDataParallel`
  instead of ``MMDistributedDataParallel``, so the non-finite loss guard
  also acts in distributed training;
- **evaluation**: metrics with ``bind_dataset`` (``CenterNetCocoMetric``)
  are handed their val / test dataset, so they score against the ground
  truth the dataset kept.

It is registered in ``RUNNERS``; ``mmcenternet.utils.launch.build_runner``
uses it unless the config names a ``runner_type``.
"""
from __future__ import annotations

import copy
from typing import Callable, Dict, Optional, Union

from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint
from torch import nn

from mmcenternet.registry import RUNNERS
from mmcenternet.utils.checkpoint import check_resumable, load_model_weights
from .hooks.deterministic_resume_hook import DeterministicResumeHook

__all__ = ['CenterNetRunner', 'GUARDED_DDP']

#: The DDP wrapper that carries the non-finite loss guard. mmengine's ``wrap_model``
#: looks the type up in its root registry, which only reaches its direct children
#: (``mmdet``), hence the two scopes.
GUARDED_DDP = 'mmdet.mmcenternet.GuardedDistributedDataParallel'
_PLAIN_DDP = ('MMDistributedDataParallel', 'mmengine.MMDistributedDataParallel')


@RUNNERS.register_module()
class CenterNetRunner(Runner):
    """mmengine ``Runner`` with strict loading, exact resume, the DDP loss
    guard and evaluation on the dataset's kept ground truth.

    Takes the arguments of mmengine's ``Runner``. :meth:`from_cfg` also
    reads the top-level config key ``strict_load`` (default True).
    """

    #: Refuse checkpoints that do not fit the model (``strict_load``).
    strict_load: bool = True

    def __init__(self, *args, **kwargs) -> None:
        self._resuming = False
        super().__init__(*args, **kwargs)
        if not any(isinstance(hook, DeterministicResumeHook)
                   for hook in self._hooks):
            self.register_hook(DeterministicResumeHook())

    @classmethod
    def from_cfg(cls, cfg) -> 'CenterNetRunner':
        """Build from a config, as mmengine, plus ``cfg.strict_load``."""
        runner = super().from_cfg(cfg)
        runner.strict_load = bool(cfg.get('strict_load', True))
        return runner

    # ------------------------------------------------------------ weights
    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]) -> dict:
        """Load a checkpoint into the model, strictly unless ``strict_load``
        is False (see :func:`~mmcenternet.utils.checkpoint.load_model_weights`).

        Args:
            filename: Path or URL (loaded weights-only).
            map_location: As for ``torch.load``.
            strict: Force strict loading even with ``strict_load = False``.
            revise_keys: ``(pattern, replacement)`` renames of the keys.

        Returns:
            The loaded checkpoint.

        Raises:
            CheckpointError: Unreadable, unsafe, not a training checkpoint
                (when resuming), or not fitting the model.
        """
        checkpoint = _load_checkpoint(filename, map_location=map_location)
        if self._resuming:
            check_resumable(checkpoint, filename)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        load_model_weights(self.model, checkpoint, name=filename,
                           strict=strict or self.strict_load,
                           revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def resume(self, filename: str, *args, **kwargs) -> None:
        """mmengine's ``resume``, refusing files that are not training
        checkpoints (instead of ``KeyError: 'epoch'``)."""
        self._resuming = True
        try:
            super().resume(filename, *args, **kwargs)
        finally:
            self._resuming = False

    # ---------------------------------------------------------------- DDP
    def wrap_model(self, model_wrapper_cfg: Optional[Dict],
                   model: nn.Module) -> nn.Module:
        """Use the guarded DDP wrapper where mmengine would use its plain one."""
        if self.distributed and not is_model_wrapper(model):
            if model_wrapper_cfg is None:
                model_wrapper_cfg = dict(
                    type=GUARDED_DDP, broadcast_buffers=False,
                    find_unused_parameters=self.cfg.get(
                        'find_unused_parameters', False))
            elif model_wrapper_cfg.get('type', _PLAIN_DDP[0]) in _PLAIN_DDP:
                model_wrapper_cfg = copy.copy(model_wrapper_cfg)
                model_wrapper_cfg['type'] = GUARDED_DDP
        return super().wrap_model(model_wrapper_cfg, model)

    # --------------------------------------------------------- evaluation
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
