"""Optim wrappers that carry out the ``'skip'`` decision of the non-finite loss guard.

:class:`~mmcenternet.models.detectors.loss_guard.LossGuardMixin` decides in
``parse_losses`` (on every rank alike) and, to skip a step, returns a total loss without
autograd graph. mmengine's ``OptimWrapper.update_params`` would call ``backward`` on it
(an error); these wrappers skip the update instead: no backward, no optimizer step, no loss
scaler update; the gradients are zeroed. Any other loss updates as in mmengine.
"""
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from mmcenternet.registry import OPTIM_WRAPPERS

__all__ = ['GuardedOptimWrapper', 'GuardedAmpOptimWrapper']


class _SkipsGraphlessLoss:
    """``update_params`` that skips a loss without autograd graph."""

    def update_params(self, loss, step_kwargs=None, zero_kwargs=None) -> None:
        if not loss.requires_grad:  # LossGuardMixin's 'skip' (taken by every rank)
            self.zero_grad(**(zero_kwargs or {}))
            return
        super().update_params(loss, step_kwargs, zero_kwargs)


@OPTIM_WRAPPERS.register_module()
class GuardedOptimWrapper(_SkipsGraphlessLoss, OptimWrapper):
    """mmengine's ``OptimWrapper`` that skips the steps the loss guard skips."""


@OPTIM_WRAPPERS.register_module()
class GuardedAmpOptimWrapper(_SkipsGraphlessLoss, AmpOptimWrapper):
    """mmengine's ``AmpOptimWrapper`` (``--amp``) that skips the steps the loss guard skips."""
