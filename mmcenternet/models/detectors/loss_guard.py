"""Stop (or skip) a training step whose loss is NaN or infinite.

A single non-finite loss term back-propagates NaN into every weight and the
Adam moments, and the run is silently lost: later losses print ``nan`` and
checkpoints hold NaN weights. :class:`LossGuardMixin` checks the loss terms
*before* ``optim_wrapper.update_params`` and, depending on
``self.non_finite_loss``:

- ``'raise'`` (default): raises :class:`NonFiniteLossError` naming the terms
  and the iteration, so the last checkpoint is still clean to resume from;
- ``'skip'``: warns with the same information, zeroes the gradients and skips
  the update, leaving the weights and optimizer state untouched.

Under DDP, mmengine's ``MMDistributedDataParallel.train_step`` does not call
the module's ``train_step``; :class:`GuardedDistributedDataParallel` (used by
:class:`mmcenternet.engine.CenterNetRunner` in its place) applies the same
policy there, with every rank taking the same decision.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple, Union

import torch
from mmengine.logging import MessageHub
from mmengine.model import MMDistributedDataParallel
from mmengine.model.utils import detect_anomalous_params

from mmcenternet.registry import MODEL_WRAPPERS
from mmcenternet.utils.messages import warn_and_log

NON_FINITE_POLICIES = ('raise', 'skip')


class NonFiniteLossError(FloatingPointError):
    """A loss term is NaN or infinite."""


def _current_position() -> str:
    """Describe the current training iteration from the message hub."""
    try:
        hub = MessageHub.get_current_instance()
        it, epoch = hub.get_info('iter'), hub.get_info('epoch')
    except Exception:  # noqa: BLE001 - no hub outside a Runner
        it = epoch = None
    if it is None:
        return 'at an unknown iteration (no runner message hub)'
    where = f'at training iteration {int(it) + 1} (runner.iter={int(it)}'
    return where + (f', epoch {int(epoch) + 1})' if epoch is not None else ')')


def non_finite_terms(
        log_vars: Dict[str, torch.Tensor]) -> List[Tuple[str, float]]:
    """Return ``(name, value)`` of the non-finite loss terms.

    Only entries whose name contains ``'loss'`` are checked (those that
    mmengine's ``parse_losses`` sums). The total ``'loss'`` is reported only
    when no single term explains it (e.g. an overflowing sum).

    Args:
        log_vars: The second output of ``parse_losses``.

    Returns:
        The offending terms, in order.
    """
    names = [k for k, v in log_vars.items()
             if 'loss' in k and isinstance(v, torch.Tensor)]
    if not names:
        return []
    finite = torch.stack(
        [torch.isfinite(log_vars[k].detach()).all() for k in names]).cpu()
    if bool(finite.all()):
        return []
    bad = [(k, float(log_vars[k].detach().float().mean().cpu()))
           for k, ok in zip(names, finite.tolist()) if not ok]
    parts = [item for item in bad if item[0] != 'loss']
    return parts or bad


def format_terms(terms: List[Tuple[str, float]]) -> str:
    """``[('loss_wh', nan)]`` -> ``'loss_wh=nan'``."""
    return ', '.join(f'{name}={value}' for name, value in terms)


def _agree_across_ranks(terms: List[Tuple[str, float]], device: torch.device,
                        process_group=None) -> Optional[str]:
    """Whether any rank has non-finite terms, and which (None if none).

    Under DDP every rank must take the same decision: a rank that skips its
    backward while the others run theirs would wait forever in the gradient
    all-reduce. One 1-element all-reduce per step decides; the offending
    ranks' terms are gathered only when something is wrong.

    Returns:
        None when every rank is finite, else the description of the
        offending terms (``'loss_wh=nan'`` or ``'rank 1: loss_wh=nan'``).
    """
    import torch.distributed as dist
    if not (dist.is_available() and dist.is_initialized()) and (
            process_group is None):
        return format_terms(terms) if terms else None
    flag = torch.tensor([1.0 if terms else 0.0], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=process_group)
    if flag.item() == 0:
        return None
    world = dist.get_world_size(process_group)
    gathered: list = [None] * world
    dist.all_gather_object(gathered, terms, group=process_group)
    return '; '.join(f'rank {rank}: {format_terms(t)}'
                     for rank, t in enumerate(gathered) if t)


def apply_loss_policy(owner: Any, log_vars: Dict[str, torch.Tensor],
                      policy: str, process_group=None) -> bool:
    """Check parsed losses and apply the non-finite loss policy.

    Shared by :meth:`LossGuardMixin.train_step` (single process) and
    :class:`GuardedDistributedDataParallel` (every rank agrees first).

    Args:
        owner: The model; counts skipped steps in ``_non_finite_skips``.
        log_vars: The second output of ``parse_losses``.
        policy: ``'raise'`` or ``'skip'``.
        process_group: The DDP process group, None without DDP.

    Returns:
        True when the losses are finite (on every rank) and the update may
        happen.

    Raises:
        NonFiniteLossError: A term is not finite and the policy is
            ``'raise'`` (on every rank under DDP).
        ValueError: Unknown policy.
    """
    if policy not in NON_FINITE_POLICIES:
        raise ValueError(f'non_finite_loss must be one of '
                         f'{NON_FINITE_POLICIES}, got {policy!r}')
    terms = non_finite_terms(log_vars)
    device = next((v.device for v in log_vars.values()
                   if isinstance(v, torch.Tensor)), torch.device('cpu'))
    bad = _agree_across_ranks(terms, device, process_group)
    if bad is None:
        return True
    what = f'non-finite loss {_current_position()}: {bad}'
    if policy == 'raise':
        raise NonFiniteLossError(
            f'{what}. The step was not applied, so the last checkpoint '
            'is clean. Lower the learning rate, enable gradient clipping '
            '(optim_wrapper.clip_grad), check the annotations, or set '
            "model.non_finite_loss='skip' to skip such iterations.")
    owner._non_finite_skips = getattr(owner, '_non_finite_skips', 0) + 1
    message = (f'{what}; skipped this update (no optimizer step; '
               f'{owner._non_finite_skips} skipped so far).')
    warn_and_log(message, RuntimeWarning, stacklevel=3)
    return False


def guarded_update(owner: Any, parsed_losses: torch.Tensor,
                   log_vars: Dict[str, torch.Tensor], optim_wrapper,
                   policy: str, process_group=None
                   ) -> Dict[str, torch.Tensor]:
    """``optim_wrapper.update_params`` unless a loss term is not finite.

    Returns:
        The log variables; for a skipped step only the finite ones.
    """
    if apply_loss_policy(owner, log_vars, policy, process_group):
        optim_wrapper.update_params(parsed_losses)
        return log_vars
    optim_wrapper.zero_grad()
    return type(log_vars)(
        (k, v) for k, v in log_vars.items()
        if not isinstance(v, torch.Tensor) or bool(
            torch.isfinite(v.detach()).all()))


class LossGuardMixin:
    """Adds a non-finite loss check to ``BaseModel.train_step``.

    Put it first among the bases of a ``BaseModel`` subclass and set
    ``self.non_finite_loss`` (``'raise'`` or ``'skip'``) in ``__init__``.
    """

    non_finite_loss: str = 'raise'

    def check_losses(self, log_vars: Dict[str, torch.Tensor]) -> bool:
        """Apply the policy to parsed losses (single process).

        Args:
            log_vars: The second output of ``parse_losses``.

        Returns:
            True when the losses are finite and the update may happen.

        Raises:
            NonFiniteLossError: A term is not finite and the policy is
                ``'raise'``.
            ValueError: Unknown policy.
        """
        return apply_loss_policy(
            self, log_vars, getattr(self, 'non_finite_loss', 'raise'))

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper) -> Dict[str, torch.Tensor]:
        """``BaseModel.train_step`` with the non-finite loss check.

        Args:
            data: A batch from the dataloader.
            optim_wrapper: The ``OptimWrapper`` that updates the parameters.

        Returns:
            The log variables; for a skipped step only the finite ones.
        """
        with optim_wrapper.optim_context(self):
            data = self.data_preprocessor(data, True)
            losses = self._run_forward(data, mode='loss')
        parsed_losses, log_vars = self.parse_losses(losses)
        return guarded_update(self, parsed_losses, log_vars, optim_wrapper,
                              getattr(self, 'non_finite_loss', 'raise'))


@MODEL_WRAPPERS.register_module()
class GuardedDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's ``MMDistributedDataParallel`` with the non-finite loss guard.

    mmengine's DDP ``train_step`` calls the wrapped model's
    ``parse_losses`` and ``optim_wrapper.update_params`` itself, so the
    model's own guarded ``train_step`` never runs under DDP. This wrapper
    applies the model's ``non_finite_loss`` policy (``'raise'`` when the
    model has none) after every rank has shared, in one 1-element
    all-reduce, whether its losses are finite: all ranks raise, or all skip
    the update together (a rank skipping alone would hang the others in the
    gradient all-reduce). :class:`mmcenternet.engine.CenterNetRunner` uses
    it in place of ``MMDistributedDataParallel``.

    Args: as ``MMDistributedDataParallel``.
    """

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper) -> Dict[str, torch.Tensor]:
        """mmengine's DDP ``train_step`` with the guard before the update."""
        with optim_wrapper.optim_context(self):
            data = self.module.data_preprocessor(data, training=True)
            losses = self._run_forward(data, mode='loss')
        parsed_loss, log_vars = self.module.parse_losses(losses)
        policy = getattr(self.module, 'non_finite_loss', 'raise')
        log_vars = guarded_update(self.module, parsed_loss, log_vars,
                                  optim_wrapper, policy, self.process_group)
        if self.detect_anomalous_params:
            detect_anomalous_params(parsed_loss, model=self)
        return log_vars
