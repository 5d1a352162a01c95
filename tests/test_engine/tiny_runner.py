"""A tiny mmengine Runner for the engine and checkpoint tests (importable and a script).

As a script it trains in its own process so that a test can SIGKILL it::

    python tests/test_engine/tiny_runner.py WORK_DIR --max-epochs 3 \
        [--resume] [--kill-at-iter N] [--kill-in-save N] [--kill-in-val N]
        [--hook vanilla] [--val] [--noise]

``--kill-at-iter N`` sends SIGKILL to the process itself after global
iteration N (mid-epoch); ``--kill-in-save N`` does it halfway through writing
the N-th checkpoint file, as a crash during saving would; ``--kill-in-val N``
does it during the validation after epoch N (``--val`` validates after every
epoch). ``--noise`` adds random noise to every training sample (drawn from
``torch``'s and ``numpy``'s global generators in the main process), so the
result depends on the random state as an augmented training does.
"""
from __future__ import annotations

import argparse
import itertools
import os
import signal
import sys
import time
from typing import Optional

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from mmengine.evaluator import BaseMetric  # noqa: E402
from mmengine.hooks import CheckpointHook, Hook  # noqa: E402
from mmengine.model import BaseModel  # noqa: E402

from mmcenternet.engine import CenterNetRunner  # noqa: E402
from mmcenternet.engine.hooks import AtomicCheckpointHook  # noqa: E402

ITERS_PER_EPOCH = 4
_RUN_IDS = itertools.count()


class TinyDataset(Dataset):
    """16 fixed samples; metainfo holds numpy arrays and scalars on purpose
    (they end up in the checkpoint's ``meta.dataset_meta``)."""

    metainfo = dict(classes=('a', 'b'), palette=[(1, 2, 3)],
                    weights=np.arange(3, dtype=np.float64),
                    scale=np.float32(1.5), count=np.int64(7))

    def __init__(self, size: int = 16, noise: bool = False) -> None:
        gen = torch.Generator().manual_seed(123)
        self.x = torch.randn(size, 4, generator=gen)
        self.y = self.x @ torch.tensor([1., -2., .5, 3.]) + 0.25
        self.noise = noise

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> dict:
        x = self.x[index]
        if self.noise:  # an "augmentation" drawn from the global generators
            x = x + 0.1 * torch.randn(4) + float(np.random.uniform(-.1, .1))
        return dict(inputs=x, target=self.y[index], index=index)


class TinyMetric(BaseMetric):
    """Negative mean squared error of the predictions (higher is better)."""

    def process(self, data_batch, data_samples) -> None:
        for pred, target in zip(data_samples, data_batch['target']):
            self.results.append(float((pred - target)**2))

    def compute_metrics(self, results: list) -> dict:
        return dict(neg_mse=-float(np.mean(results)))


class TinyModel(BaseModel):
    """A small MLP regressor with two named loss terms.

    Args:
        nan_on_index: Sample index whose batch gets a NaN ``loss_aux``.
    """

    def __init__(self, nan_on_index: Optional[int] = None) -> None:
        super().__init__()
        self.nan_on_index = nan_on_index
        self.hidden = nn.Linear(4, 8)
        self.out = nn.Linear(8, 1)

    def forward(self, inputs, target=None, index=None, mode='loss'):
        x = torch.stack(inputs) if isinstance(inputs, list) else inputs
        pred = self.out(torch.relu(self.hidden(x))).squeeze(-1)
        if mode == 'tensor':
            return pred
        y = torch.stack(target) if isinstance(target, list) else target
        if mode == 'predict':
            return list(pred)
        loss_main = ((pred - y)**2).mean()
        loss_aux = 0.01 * pred.abs().mean()
        if self.nan_on_index is not None and index is not None and (
                self.nan_on_index in [int(i) for i in index]):
            loss_aux = loss_aux * float('nan')
        return dict(loss_main=loss_main, loss_aux=loss_aux)


class SlowHook(Hook):
    """Sleeps a little per iteration so a killed run dies mid-epoch."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        time.sleep(self.seconds)


class SelfKillHook(Hook):
    """SIGKILLs the process after global iteration ``at_iter`` (1-based)."""

    priority = 'VERY_LOW'

    def __init__(self, at_iter: int) -> None:
        self.at_iter = at_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if runner.iter + 1 == self.at_iter:
            os.kill(os.getpid(), signal.SIGKILL)


class KillInValidationHook(Hook):
    """SIGKILLs the process during the validation after epoch ``epoch``."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None) -> None:
        if runner.epoch == self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)


class ReportValHook(Hook):
    """Prints (and records in ``lines``) each validation's epoch and metrics."""

    def __init__(self) -> None:
        self.lines = []

    def after_val_epoch(self, runner, metrics=None) -> None:
        self.lines.append(f'VAL epoch={runner.epoch} {metrics}')
        print(self.lines[-1], flush=True)


class ReportStartHook(Hook):
    """Prints where training starts (after a resume, the resumed position)."""

    def before_train(self, runner) -> None:
        print(f'START epoch={runner.epoch} iter={runner.iter}', flush=True)


def kill_during_nth_put(n: int) -> None:
    """Make the n-th file write of mmengine's LocalBackend die halfway."""
    from mmengine.fileio import LocalBackend
    original = LocalBackend.put
    state = dict(count=0)

    def put(self, obj: bytes, filepath) -> None:
        state['count'] += 1
        if state['count'] < n:
            return original(self, obj, filepath)
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
            f.flush()
            os.fsync(f.fileno())
        os.kill(os.getpid(), signal.SIGKILL)

    LocalBackend.put = put


def build_runner(work_dir: str,
                 max_epochs: int = 3,
                 resume: bool = False,
                 load_from: Optional[str] = None,
                 hook: str = 'atomic',
                 max_keep_ckpts: int = -1,
                 model: Optional[nn.Module] = None,
                 extra_hooks: Optional[list] = None,
                 val: bool = False,
                 noise: bool = False,
                 **runner_kwargs) -> CenterNetRunner:
    """A deterministic Runner: 4 iterations per epoch, a checkpoint each.

    Args:
        work_dir: The work dir.
        max_epochs: Number of epochs.
        resume: Resume from ``load_from`` or the work dir's last checkpoint.
        load_from: The checkpoint to load / resume from.
        hook: ``'atomic'`` (AtomicCheckpointHook) or ``'vanilla'``.
        max_keep_ckpts: As for ``CheckpointHook``.
        model: The model (default a fresh :class:`TinyModel`).
        extra_hooks: Additional custom hooks.
        val: Validate after every epoch (best checkpoint on ``neg_mse``).
        noise: Random noise on the training samples (see module docstring).
        **runner_kwargs: More ``Runner`` arguments (``launcher``, ...).

    Returns:
        The runner (not yet trained).
    """
    hook_cls = AtomicCheckpointHook if hook == 'atomic' else CheckpointHook
    if model is None:
        torch.manual_seed(0)  # the model is built before the Runner seeds
        model = TinyModel()
    validation = dict(
        val_dataloader=dict(dataset=TinyDataset(8), batch_size=4, num_workers=0,
                            sampler=dict(type='DefaultSampler', shuffle=False)),
        val_evaluator=[TinyMetric()], val_cfg=dict()) if val else {}
    best = dict(save_best='neg_mse', rule='greater') if val else {}
    return CenterNetRunner(
        model=model,
        work_dir=work_dir,
        train_dataloader=dict(
            dataset=TinyDataset(noise=noise),
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_size=ITERS_PER_EPOCH,
            num_workers=0),
        **validation,
        # the wrapper that skips the steps LossGuardMixin's 'skip' policy skips
        optim_wrapper=dict(type='GuardedOptimWrapper', optimizer=dict(type='Adam', lr=0.05)),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.2, by_epoch=False, begin=0,
                 end=3),
            dict(type='MultiStepLR', milestones=[2], by_epoch=True)
        ],
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(
            checkpoint=hook_cls(interval=1, max_keep_ckpts=max_keep_ckpts,
                                **best),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=extra_hooks or [],
        randomness=dict(seed=0, deterministic=True),
        resume=resume,
        load_from=load_from,
        log_level='WARNING',
        # a unique name: runners built in the same second must not share
        # their MessageHub / logger instances
        experiment_name=f'tiny_{os.getpid()}_{next(_RUN_IDS)}',
        # the Runner makes its scope the current one: keep it ours so the
        # tests that run after this one still resolve mmcenternet types
        default_scope='mmcenternet',
        **runner_kwargs)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('work_dir')
    parser.add_argument('--max-epochs', type=int, default=3)
    parser.add_argument('--resume', action='store_true')
    parser.add_argument('--hook', default='atomic')
    parser.add_argument('--max-keep-ckpts', type=int, default=-1)
    parser.add_argument('--kill-at-iter', type=int)
    parser.add_argument('--kill-in-save', type=int)
    parser.add_argument('--kill-in-val', type=int)
    parser.add_argument('--sleep', type=float, default=0.0)
    parser.add_argument('--val', action='store_true')
    parser.add_argument('--noise', action='store_true')
    args = parser.parse_args(argv)
    hooks = [ReportStartHook(), ReportValHook()]
    if args.kill_at_iter:
        hooks.append(SelfKillHook(args.kill_at_iter))
    if args.kill_in_val:
        hooks.append(KillInValidationHook(args.kill_in_val))
    if args.sleep:
        hooks.append(SlowHook(args.sleep))
    if args.kill_in_save:
        kill_during_nth_put(args.kill_in_save)
    runner = build_runner(
        args.work_dir, args.max_epochs, resume=args.resume, hook=args.hook,
        max_keep_ckpts=args.max_keep_ckpts, extra_hooks=hooks, val=args.val,
        noise=args.noise)
    runner.train()
    print(f'FINISHED epoch={runner.epoch} iter={runner.iter}')


if __name__ == '__main__':
    main()
