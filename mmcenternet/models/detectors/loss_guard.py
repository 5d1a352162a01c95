"""Stop (or skip) a training step whose loss is NaN or infinite.

A single non-finite loss term back-propagates NaN into every weight and the Adam moments,
and the run is silently lost: later losses print ``nan`` and checkpoints hold NaN weights.
:class:`LossGuardMixin` checks the loss terms in ``parse_losses``, mmengine's extension
point that every train step calls before ``optim_wrapper.update_params`` (``BaseModel``'s,
and ``MMDistributedDataParallel``'s / FSDP's / the strategies' through ``module``), and
applies ``self.non_finite_loss``:

- ``'raise'`` (default): :class:`~mmcenternet.errors.NonFiniteLossError` naming the terms
  and the iteration, before any update, so the last checkpoint is still clean;
- ``'skip'``: a warning with the same information, and a total loss without autograd graph,
  on which :class:`mmcenternet.engine.GuardedOptimWrapper` (and its AMP variant) skips the
  update: no backward, no optimizer step, weights and optimizer state untouched.

Under DDP every rank shares, in one 1-element all-reduce, whether its terms are finite, so
all ranks raise, or all skip together (a rank skipping its backward alone would leave the
others waiting in the gradient all-reduce).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import torch
import torch.distributed as dist
from mmengine.logging import MessageHub

from mmcenternet.errors import NonFiniteLossError
from mmcenternet.utils.messages import warn_and_log

__all__ = ['LossGuardMixin', 'NON_FINITE_POLICIES', 'non_finite_terms']

NON_FINITE_POLICIES = ('raise', 'skip')


def _current_position() -> str:
    """The current training iteration, from the message hub."""
    try:
        hub = MessageHub.get_current_instance()
        it, epoch = hub.get_info('iter'), hub.get_info('epoch')
    except Exception:  # noqa: BLE001 - no hub outside a Runner
        it = epoch = None
    if it is None:
        return 'at an unknown iteration (no runner message hub)'
    where = f'at training iteration {int(it) + 1} (runner.iter={int(it)}'
    return where + (f', epoch {int(epoch) + 1})' if epoch is not None else ')')


def non_finite_terms(log_vars: Dict[str, torch.Tensor]) -> List[Tuple[str, float]]:
    """``(name, value)`` of the non-finite loss terms of ``parse_losses``' ``log_vars``.

    Only entries whose name contains ``'loss'`` are checked (those mmengine sums). The total
    ``'loss'`` is reported only when no single term explains it (an overflowing sum).
    """
    names = [k for k, v in log_vars.items() if 'loss' in k and isinstance(v, torch.Tensor)]
    if not names:
        return []
    finite = torch.stack([torch.isfinite(log_vars[k].detach()).all() for k in names]).cpu()
    if bool(finite.all()):
        return []
    bad = [(k, float(log_vars[k].detach().float().mean().cpu()))
           for k, ok in zip(names, finite.tolist()) if not ok]
    return [item for item in bad if item[0] != 'loss'] or bad


def _format(terms: List[Tuple[str, float]]) -> str:
    return ', '.join(f'{name}={value}' for name, value in terms)


def _agree_across_ranks(terms: List[Tuple[str, float]], device: torch.device
                        ) -> Optional[str]:
    """The offending terms of every rank (``'loss_wh=nan'``, or ``'rank 1: loss_wh=nan'``
    under DDP), or None when every rank is finite. Under DDP one 1-element all-reduce per
    step decides; the terms are gathered only when something is wrong."""
    if not (dist.is_available() and dist.is_initialized()):
        return _format(terms) if terms else None
    flag = torch.tensor([1.0 if terms else 0.0], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    if flag.item() == 0:
        return None
    gathered: list = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, terms)
    return '; '.join(f'rank {rank}: {_format(t)}' for rank, t in enumerate(gathered) if t)


class LossGuardMixin:
    """Adds the non-finite loss check to ``BaseModel.parse_losses``.

    Put it first among the bases of a ``BaseModel`` subclass and set
    ``self.non_finite_loss`` (``'raise'`` or ``'skip'``); ``'skip'`` needs an optim wrapper
    that skips a loss without graph (``GuardedOptimWrapper`` / ``GuardedAmpOptimWrapper``).
    """

    non_finite_loss: str = 'raise'

    def parse_losses(self, losses: Dict[str, torch.Tensor]
                     ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """mmengine's ``parse_losses``, then the policy for non-finite terms.

        Returns:
            ``(loss, log_vars)``; for a skipped step a NaN loss without autograd graph and
            only the finite log variables.

        Raises:
            NonFiniteLossError: A term is not finite (on any rank) and the policy is
                ``'raise'``.
            ValueError: Unknown policy.
        """
        loss, log_vars = super().parse_losses(losses)
        policy = getattr(self, 'non_finite_loss', 'raise')
        if policy not in NON_FINITE_POLICIES:
            raise ValueError(f'non_finite_loss must be one of {NON_FINITE_POLICIES}, got '
                             f'{policy!r}')
        bad = _agree_across_ranks(non_finite_terms(log_vars), loss.device)
        if bad is None:
            return loss, log_vars
        what = f'non-finite loss {_current_position()}: {bad}'
        if policy == 'raise':
            raise NonFiniteLossError(
                f'{what}. The step was not applied, so the last checkpoint is clean. Lower '
                'the learning rate, enable gradient clipping (optim_wrapper.clip_grad), '
                "check the annotations, or set model.non_finite_loss='skip' to skip such "
                'iterations.')
        self._non_finite_skips = getattr(self, '_non_finite_skips', 0) + 1
        warn_and_log(f'{what}; skipped this update (no optimizer step; '
                     f'{self._non_finite_skips} skipped so far).', RuntimeWarning)
        finite = type(log_vars)((k, v) for k, v in log_vars.items() if not isinstance(
            v, torch.Tensor) or bool(torch.isfinite(v.detach()).all()))
        return loss.detach() * float('nan'), finite
