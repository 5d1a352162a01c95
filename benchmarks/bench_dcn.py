"""mmcv's modulated deformable conv vs mmcenternet's PyTorch version (``DCNv2Fast``).

Times forward and forward + backward of the three DCNv2 layers of the ResNet-18 CenterNet
neck (512 px input: 512->256 at 16x16, 256->128 at 32x32, 128->64 at 64x64), alternating
the two implementations, and checks that their outputs and gradients agree.

    python benchmarks/bench_dcn.py [--batch-size 4] [--repeat 5] [--threads 1]
"""
import argparse
import os.path as osp
import sys
from typing import Callable, Dict, List

import torch
from mmcv.ops import modulated_deform_conv2d

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from mmcenternet.models.layers import modulated_deform_conv2d_torch  # noqa: E402
from mmcenternet.utils.benchmark import time_cases  # noqa: E402

IMPLS: Dict[str, Callable] = {'mmcv': modulated_deform_conv2d,
                              'torch': modulated_deform_conv2d_torch}
# (in, out, map size) of the R18 CenterNet neck at 512 px input
LAYERS = [(512, 256, 16), (256, 128, 32), (128, 64, 64)]


def layer_inputs(batch: int, cin: int, cout: int, size: int, seed: int = 0) -> List:
    """Input, offsets (a few pixels), mask, weight and bias; all require grad."""
    gen = torch.Generator().manual_seed(seed)
    tensors = [torch.randn(batch, cin, size, size, generator=gen),
               2 * torch.randn(batch, 18, size, size, generator=gen),
               torch.rand(batch, 9, size, size, generator=gen),
               torch.randn(cout, cin, 3, 3, generator=gen) / (9 * cin)**0.5,
               torch.zeros(cout)]
    return [t.requires_grad_() for t in tensors]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--threads', type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, batch '
          f'{args.batch_size}; median ms of {args.repeat} alternating runs')
    print(f"{'layer':<18s}{'pass':<10s}{'mmcv':>10s}{'torch':>10s}{'ratio':>8s}   max diff")
    for cin, cout, size in LAYERS:
        tensors = layer_inputs(args.batch_size, cin, cout, size)
        geometry = (1, 1, 1, 1, 1)
        outs = {k: fn(*tensors, *geometry) for k, fn in IMPLS.items()}
        grad = torch.randn_like(outs['mmcv'])
        grads = {k: torch.autograd.grad(outs[k], tensors, grad) for k in IMPLS}
        diff = max([(outs['mmcv'] - outs['torch']).abs().max().item()] + [
            ((a - b).abs().max() / b.abs().max().clamp(min=1)).item()
            for a, b in zip(grads['mmcv'], grads['torch'])])

        def forward(fn):
            with torch.no_grad():
                fn(*tensors, *geometry)

        def train(fn):
            fn(*tensors, *geometry).backward(grad)

        for name, run in [('forward', forward), ('fwd+bwd', train)]:
            t = time_cases({k: (lambda fn=fn, run=run: run(fn)) for k, fn in IMPLS.items()},
                           warmup=args.warmup, repeat=args.repeat)
            a, b = t['mmcv'].median * 1e3, t['torch'].median * 1e3
            print(f'{cin}->{cout} @{size}x{size}'.ljust(18) + f'{name:<10s}{a:10.1f}{b:10.1f}'
                  f'{b / a:8.3f}   {diff:.1e}')
    return 0


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        sys.exit(main())
