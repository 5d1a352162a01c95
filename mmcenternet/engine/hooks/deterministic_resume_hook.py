"""Resume a killed training so that it continues exactly as if never killed.

mmengine 0.10.7 restores weights, optimizer, schedulers and the message hub,
but not the random state: data augmentation draws from the main process's
``random`` / ``numpy`` / ``torch`` generators (``num_workers=0``) or from the
workers' (seeded once, and never again with ``persistent_workers``), and
validation consumes draws too. A resumed run therefore trains on other
augmentations than the uninterrupted one. And an epoch checkpoint is written
*before* that epoch's validation, so a run killed during validation resumes
after it: that validation never happens, and best-checkpoint selection
misses it.

:class:`DeterministicResumeHook`

1. reseeds ``random``, ``numpy`` and ``torch`` at the start of every training
   epoch from ``(runner seed, epoch, rank)``, and seeds every dataloader
   worker from ``(that seed, worker id)``; persistent workers are restarted
   each epoch (``restart_persistent_workers``) since their state cannot be
   reseeded. An epoch's randomness then depends on nothing that ran before
   it, in particular not on whether the process was restarted;
2. after a resume at epoch ``N`` whose training loop validates after epoch
   ``N``, runs that validation again before training epoch ``N + 1`` (its
   checkpoint was written before it, so it may never have finished), so the
   metrics, the best checkpoint and the message hub are as in an
   uninterrupted run.

With (1) and the atomic checkpoints of :class:`mmcenternet.engine.CenterNetRunner` (and
``AtomicCheckpointHook``), a run killed at any point (a training step, validation, a
checkpoint write) and resumed from its last epoch checkpoint produces the same weights as
one that was never killed. ``CenterNetRunner`` registers this hook when the config does not.

Limits: epoch-based loops only; a checkpoint saved in the middle of an epoch
(``by_epoch=False`` intervals) restarts that epoch as mmengine does.

Private state: restarting persistent dataloader workers sets the torch ``DataLoader``'s
``_iterator`` to None, which shuts the workers down; torch has no public way to restart
them (a new ``DataLoader`` would change the runner's object). Nothing else private is read
or written: the validation rule is computed from the loop's public ``val_begin``,
``val_interval``, ``dynamic_milestones`` / ``dynamic_intervals`` and ``max_epochs``, and a
resumed run is recognised by its epoch at ``before_train`` (0 for a fresh one).
"""
from __future__ import annotations

import bisect
import functools
import random
from typing import Callable, Optional

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop

from mmcenternet.registry import HOOKS

__all__ = ['DeterministicResumeHook', 'derive_seed', 'seed_everything']


def derive_seed(*values: int) -> int:
    """A 32-bit seed mixed from integers (``numpy.random.SeedSequence``)."""
    entropy = [int(v) & 0xFFFFFFFF for v in values]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def seed_everything(seed: int) -> None:
    """Seed ``random``, ``numpy`` and ``torch`` (CPU and CUDA) generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def seed_worker(worker_id: int, seed: int,
                base_init: Optional[Callable] = None) -> None:
    """Dataloader ``worker_init_fn``: the original one, then our seeding."""
    if base_init is not None:
        base_init(worker_id)
    seed_everything(derive_seed(seed, worker_id))


def validates_after(loop: EpochBasedTrainLoop, epoch: int) -> bool:
    """Whether ``loop`` runs validation after training epoch ``epoch``.

    The rule of ``EpochBasedTrainLoop.run`` after ``epoch`` epochs, dynamic intervals
    included (the interval ``_decide_current_val_interval`` picks then), computed without
    changing the loop.
    """
    if loop.runner.val_loop is None or epoch <= 0:
        return False
    step = bisect.bisect(loop.dynamic_milestones, epoch + 1)
    interval = loop.dynamic_intervals[step - 1]
    return epoch >= loop.val_begin and (epoch % interval == 0 or epoch == loop.max_epochs)


@HOOKS.register_module()
class DeterministicResumeHook(Hook):
    """Per-epoch seeding and re-validation after a resume (module docstring).

    Args:
        restart_persistent_workers: Restart the train dataloader's persistent
            workers at each epoch so that they are reseeded; without it a
            resumed run with ``persistent_workers=True`` and workers is not
            bit-identical.
        revalidate_on_resume: Re-run the resumed epoch's validation.
    """

    priority = 'LOWEST'  # before_train: after the other hooks are set up

    def __init__(self, restart_persistent_workers: bool = True,
                 revalidate_on_resume: bool = True) -> None:
        self.restart_persistent_workers = restart_persistent_workers
        self.revalidate_on_resume = revalidate_on_resume
        self._base_worker_init: Optional[Callable] = None
        self._wrapped_loader: Optional[object] = None
        self._noted_restart = False

    def before_train(self, runner) -> None:
        """Re-run the resumed epoch's validation (see the module docstring)."""
        loop = runner.train_loop
        # a fresh run starts at epoch 0; a resumed one at the epoch of its checkpoint
        if not (self.revalidate_on_resume
                and isinstance(loop, EpochBasedTrainLoop)
                and validates_after(loop, loop.epoch)):
            return
        print_log(
            f'Resumed after epoch {loop.epoch}, whose checkpoint was written '
            'before its validation: running that validation again (it may '
            'have been interrupted) so that its metrics and best checkpoint '
            'are as in an uninterrupted run.', logger='current')
        runner.val_loop.run()

    def before_train_epoch(self, runner) -> None:
        """Seed this epoch from ``(seed, epoch, rank)`` only."""
        seed = derive_seed(runner.seed, runner.epoch, get_rank())
        seed_everything(seed)
        loader = runner.train_dataloader
        if getattr(loader, 'num_workers', 0) <= 0:
            return
        if self._wrapped_loader is not loader:
            self._base_worker_init = loader.worker_init_fn
            self._wrapped_loader = loader
        loader.worker_init_fn = functools.partial(
            seed_worker, seed=seed, base_init=self._base_worker_init)
        if (self.restart_persistent_workers and loader.persistent_workers
                and getattr(loader, '_iterator', None) is not None):
            if not self._noted_restart:
                print_log(
                    'DeterministicResumeHook: restarting the persistent train '
                    'dataloader workers at each epoch so that they are '
                    'reseeded (a resumed run is then bit-identical).',
                    logger='current')
                self._noted_restart = True
            loader._iterator = None  # shuts the old workers down
