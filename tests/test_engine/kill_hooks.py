"""Test-only hooks for tools/train.py runs, loaded by a config's ``custom_imports``
(``test_engine.kill_hooks``, with ``tests/`` on ``PYTHONPATH``).

They are registered in mmengine's root ``HOOKS`` registry, which mmcenternet's falls back
to, so that they never count as mmcenternet modules (tests/test_registry.py).
"""
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from .tiny_runner import KillInValidationHook


class NaNLossOnRankHook(Hook):
    """Makes the ``wh`` loss of one rank NaN at one training iteration (1-based)."""

    def __init__(self, rank: int, at_iter: int) -> None:
        self.rank, self.at_iter = rank, at_iter

    def _loss(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        return model.bbox_head.losses['wh']

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if get_rank() == self.rank and runner.iter + 1 == self.at_iter:
            loss = self._loss(runner)
            self._saved, loss.loss_weight = loss.loss_weight, float('nan')

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if hasattr(self, '_saved'):
            self._loss(runner).loss_weight = self._saved
            del self._saved


HOOKS.register_module(name='TestKillInValidationHook', module=KillInValidationHook,
                      force=True)
HOOKS.register_module(name='TestNaNLossOnRankHook', module=NaNLossOnRankHook, force=True)
