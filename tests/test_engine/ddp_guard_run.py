"""The non-finite loss guard under DDP, run by the test with 2-process gloo torchrun::

    torchrun --nproc_per_node 2 tests/test_engine/ddp_guard_run.py WORK_DIR

One sample of the tiny dataset makes its rank's loss NaN (once per epoch, on one rank);
with ``non_finite_loss='skip'`` every rank must skip that update together (a rank that
skipped alone would leave the other waiting in the gradient all-reduce). Each rank prints
its wrapper, skip count, iteration and a digest of its final weights.
"""
import hashlib
import sys

import torch
import torch.distributed as dist

from tiny_runner import TinyModel, build_runner  # this folder is on sys.path

from mmcenternet.engine.launch import finish_distributed, init_cpu_distributed  # noqa: E402
from mmcenternet.models.detectors.loss_guard import LossGuardMixin  # noqa: E402


class SkippingTinyModel(LossGuardMixin, TinyModel):
    non_finite_loss = 'skip'


def main() -> None:
    init_cpu_distributed('pytorch')
    torch.manual_seed(0)
    model = SkippingTinyModel(nan_on_index=5)
    wrapper = dict(type='MMDistributedDataParallel', device_ids=None,
                   broadcast_buffers=False)  # mmengine's own: the guard is in parse_losses
    runner = build_runner(sys.argv[1], max_epochs=2, model=model, launcher='pytorch',
                          cfg=dict(model_wrapper_cfg=wrapper))
    runner.train()
    weights = torch.cat([p.detach().flatten() for p in model.parameters()])
    digest = hashlib.sha1(weights.numpy().tobytes()).hexdigest()[:16]
    print(f'RANK {dist.get_rank()} wrapper={type(runner.model).__name__} '
          f'skipped={getattr(model, "_non_finite_skips", 0)} iter={runner.iter} '
          f'finite={bool(torch.isfinite(weights).all())} weights={digest}', flush=True)
    finish_distributed()


if __name__ == '__main__':
    main()
