"""Speed of a CenterNet config: forward, decode, end-to-end predict and a training step.

    python tools/analysis_tools/benchmark.py CONFIG [CHECKPOINT] [--batch-size 1]
        [--img-size 512] [--fp16] [--channels-last] [--fuse] [--compile]
        [--device cpu|cuda] [--warmup 3] [--repeat 10]

Prints, after ``--warmup`` untimed runs, the median and 90th-percentile latency, the
throughput and the median process CPU time per run (with ``--threads 1`` on a shared
machine, an estimate of the latency on an idle core) of:

(a) the network forward (backbone, neck, head) on a random ``--batch-size`` batch;
(b) decoding / post-processing of those maps into top-K boxes;
(c) end to end, from an image file (``--img-size`` square, written to a temporary folder)
    to boxes in image pixels: test pipeline, data preprocessor, network, decode (batch 1);
(d) one training iteration on synthetic data (``train_step``: preprocessing, forward,
    loss, backward, optimizer step with the config's ``optim_wrapper``).

``--fuse`` folds BatchNorms into the convs, ``--channels-last`` uses NHWC tensors,
``--compile`` runs ``torch.compile`` on backbone, neck and head (the first warm-up run
compiles; its time is printed), ``--fp16`` runs under CUDA autocast (CUDA only). The
inference options apply to (a)-(c); (d) uses ``--channels-last``, ``--compile`` and
``--fp16`` (AMP) only. Without a checkpoint the weights are the config's initialisation.
"""
import argparse
import contextlib
import copy
import os.path as osp
import sys
import tempfile
import time
from typing import Optional

import torch
from mmengine.config import DictAction
from mmengine.registry import DefaultScope

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from mmcenternet.models.utils import optimize_for_inference  # noqa: E402
from mmcenternet.models.utils.fuse import DEFORM_CONVS  # noqa: E402
from mmcenternet.utils import register_all_modules  # noqa: E402
from mmcenternet.utils.benchmark import (DenseNet, Timing, quiet_logs,  # noqa: E402
                                         synthetic_train_data, test_pipeline_of, time_cases,
                                         write_test_image)

SECTIONS = ('(a) network forward', '(b) decode', '(c) end-to-end predict',
            '(d) train iteration')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark a CenterNet config')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint (optional)')
    parser.add_argument('--batch-size', type=int, default=1,
                        help='images per forward / decode / training step')
    parser.add_argument('--img-size', type=int, default=512, help='square input size')
    parser.add_argument('--num-objects', type=int, default=20,
                        help='gt objects per synthetic training image')
    parser.add_argument('--fp16', action='store_true', help='CUDA autocast (AMP)')
    parser.add_argument('--channels-last', action='store_true', help='NHWC memory format')
    parser.add_argument('--fuse', action='store_true', help='fold BN into convs (inference)')
    parser.add_argument('--compile', action='store_true', help='torch.compile')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--repeat', type=int, default=10)
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--skip', nargs='*', default=[], choices=['a', 'b', 'c', 'd'],
                        help='sections to leave out')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    from mmcenternet.engine.launch import add_strict_load_argument
    add_strict_load_argument(parser)
    return parser.parse_args(argv)


def build_model(cfg, checkpoint: Optional[str], device: str,
                strict: bool = True) -> torch.nn.Module:
    """The config's detector with the checkpoint's (or initial) weights, on ``device``."""
    from mmcenternet.models.utils import strip_pretrained_init
    from mmcenternet.registry import MODELS
    model_cfg = copy.deepcopy(cfg.model)
    if not checkpoint:
        strip_pretrained_init(model_cfg)  # random weights suffice for timing: no download
    model = MODELS.build(model_cfg)
    if checkpoint:
        from mmcenternet.checkpoint import load_weights
        load_weights(model, checkpoint, strict=strict, map_location='cpu')
    else:
        model.init_weights()
    return model.to(device)


def autocast(args) -> contextlib.AbstractContextManager:
    """CUDA fp16 autocast for ``--fp16``; a null context otherwise."""
    if args.fp16 and args.device == 'cuda':
        return torch.autocast('cuda', dtype=torch.float16)
    return contextlib.nullcontext()


def print_section(title: str, timing: Timing, note: str = '') -> None:
    print(f'\n== {title} {note}==')
    print(timing.row())


def first_call_seconds(fn, device: str) -> float:
    """Time of one call (used to report compilation time)."""
    from mmcenternet.utils.benchmark import synchronize
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def bench_inference(args, cfg, model: torch.nn.Module) -> None:
    """Sections (a), (b), (c) on an eval copy with the inference options."""
    model = copy.deepcopy(model).eval()
    optimize_for_inference(model, fuse_bn=args.fuse, channels_last=args.channels_last,
                           compile=args.compile)
    size, batch = args.img_size, args.batch_size
    x = torch.randn(batch, 3, size, size, device=args.device)
    net = DenseNet(model)
    run = dict(warmup=args.warmup, repeat=args.repeat, device=args.device)

    def forward():
        with torch.no_grad(), autocast(args):
            return net(x)

    if args.compile:
        print(f'compile + first forward: {first_call_seconds(forward, args.device):.1f} s')
    if 'a' not in args.skip:
        t = time_cases({'forward': forward}, items={'forward': batch}, **run)['forward']
        print_section(SECTIONS[0], t, f'(batch {batch}, {size}x{size}) ')
    if 'b' not in args.skip:
        with torch.no_grad(), autocast(args):
            maps = model.bbox_head(model.extract_feat(x))
        metas = [dict(batch_input_shape=(size, size), img_shape=(size, size),
                      border=(0, size, 0, size))] * batch

        def decode():
            with torch.no_grad():
                return model.bbox_head.predict_by_feat(maps, batch_img_metas=metas)

        t = time_cases({'decode': decode}, items={'decode': batch}, **run)['decode']
        print_section(SECTIONS[1], t, f'(batch {batch}) ')
    if 'c' not in args.skip:
        tmpdir = tempfile.mkdtemp(prefix='mmcn_bench_')
        img = write_test_image(osp.join(tmpdir, 'image.png'), size)
        from mmengine.dataset import Compose

        from mmcenternet.apis import inference_batch
        pipelines = {False: Compose(test_pipeline_of(cfg))}  # built once, not timed

        def e2e():
            with autocast(args):
                return inference_batch(model, [img], 1, pipelines)[0]

        sample = e2e()
        t = time_cases({'e2e': e2e}, **run)['e2e']
        shape = tuple(sample.batch_input_shape)
        print_section(SECTIONS[2], t, f'(image file {size}x{size} -> network input '
                      f'{shape[0]}x{shape[1]}, {len(sample.pred_instances)} boxes) ')


def bench_train(args, cfg, model: torch.nn.Module) -> None:
    """Section (d): ``train_step`` on a synthetic batch with the config's optimizer."""
    from mmengine.optim import build_optim_wrapper
    model = copy.deepcopy(model).train()
    if args.channels_last:
        model.to(memory_format=torch.channels_last)
    if args.compile:
        for name in ('backbone', 'neck', 'bbox_head'):
            if getattr(model, name, None) is not None:
                getattr(model, name).compile()
    wrapper_cfg = copy.deepcopy(cfg.optim_wrapper)
    if args.fp16 and args.device == 'cuda':
        wrapper_cfg['type'] = 'AmpOptimWrapper'
    wrapper = build_optim_wrapper(model, wrapper_cfg)
    num_classes = model.bbox_head.num_classes
    data = synthetic_train_data(args.batch_size, args.img_size, args.num_objects, num_classes)

    def step():
        return model.train_step(data, wrapper)

    if args.compile:
        print(f'compile + first train step: {first_call_seconds(step, args.device):.1f} s')
    t = time_cases({'train': step}, warmup=max(1, args.warmup), repeat=args.repeat,
                   device=args.device, items={'train': args.batch_size})['train']
    print_section(SECTIONS[3], t, f'(batch {args.batch_size}, {args.img_size}x{args.img_size}) ')


def main(argv=None) -> int:
    args = parse_args(argv)
    with quiet_logs():
        return run(args)


def run(args: argparse.Namespace) -> int:
    """Runs the tool with parsed arguments."""
    from mmcenternet.engine.config import load_config
    if args.device == 'cuda' and not torch.cuda.is_available():
        print('error: --device cuda: CUDA is not available on this machine', file=sys.stderr)
        return 2
    if args.fp16 and args.device != 'cuda':
        print('note: --fp16 (autocast) is for CUDA; ignored on CPU')
    if args.threads:
        torch.set_num_threads(args.threads)
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config, args.cfg_options)
    scope = cfg.get('default_scope', 'mmcenternet')
    with DefaultScope.overwrite_default_scope(scope):
        model = build_model(cfg, args.checkpoint, args.device, strict=not args.no_strict_load)
        dcn = sorted({type(m).__name__ for m in model.modules()
                      if isinstance(m, DEFORM_CONVS)})
        print(f'config: {args.config}\ndevice: {args.device}, torch {torch.__version__}, '
              f'{torch.get_num_threads()} CPU threads; DCN: {dcn or "none"}; '
              f'fuse={args.fuse} channels_last={args.channels_last} '
              f'compile={args.compile} fp16={args.fp16}')
        print(f'warm-up {args.warmup}, repeat {args.repeat}; latency = median / p90 of '
              'the timed runs, throughput = images / median, cpu = median process CPU '
              'time per run')
        if not {'a', 'b', 'c'} <= set(args.skip):
            bench_inference(args, cfg, model)
        if 'd' not in args.skip:
            bench_train(args, cfg, model)
    return 0


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        sys.exit(main())
