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

Note:
    Under DDP, mmengine's ``MMDistributedDataParallel.train_step`` does not
    call the module's ``train_step``, so the guard only acts in
    non-distributed training unless a wrapper calls :meth:`check_losses`.
"""
from __future__ import annotations

import logging
import warnings
from typing import Dict, List, Tuple, Union

import torch
from mmengine.logging import MessageHub, print_log

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


class LossGuardMixin:
    """Adds a non-finite loss check to ``BaseModel.train_step``.

    Put it first among the bases of a ``BaseModel`` subclass and set
    ``self.non_finite_loss`` (``'raise'`` or ``'skip'``) in ``__init__``.
    """

    non_finite_loss: str = 'raise'

    def check_losses(self, log_vars: Dict[str, torch.Tensor]) -> bool:
        """Apply the policy to parsed losses.

        Args:
            log_vars: The second output of ``parse_losses``.

        Returns:
            True when the losses are finite and the update may happen.

        Raises:
            NonFiniteLossError: A term is not finite and the policy is
                ``'raise'``.
            ValueError: Unknown policy.
        """
        policy = getattr(self, 'non_finite_loss', 'raise')
        if policy not in NON_FINITE_POLICIES:
            raise ValueError(f'non_finite_loss must be one of '
                             f'{NON_FINITE_POLICIES}, got {policy!r}')
        terms = non_finite_terms(log_vars)
        if not terms:
            return True
        what = (f'non-finite loss {_current_position()}: '
                f'{format_terms(terms)}')
        if policy == 'raise':
            raise NonFiniteLossError(
                f'{what}. The step was not applied, so the last checkpoint '
                'is clean. Lower the learning rate, enable gradient clipping '
                '(optim_wrapper.clip_grad), check the annotations, or set '
                "model.non_finite_loss='skip' to skip such iterations.")
        self._non_finite_skips = getattr(self, '_non_finite_skips', 0) + 1
        message = (f'{what}; skipped this update (no optimizer step; '
                   f'{self._non_finite_skips} skipped so far).')
        warnings.warn(message, RuntimeWarning, stacklevel=3)
        print_log(message, logger='current', level=logging.WARNING)
        return False

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
        if self.check_losses(log_vars):
            optim_wrapper.update_params(parsed_losses)
            return log_vars
        optim_wrapper.zero_grad()
        return type(log_vars)(
            (k, v) for k, v in log_vars.items()
            if not isinstance(v, torch.Tensor) or bool(
                torch.isfinite(v.detach()).all()))
