"""The deployment table: AP, model size and CPU latency of fp32 / fp16 / int8 ONNX models.

    python benchmarks/bench_deploy.py CONFIG CHECKPOINT --work-dir work_dirs/deploy \\
        [--eval] [--methods minmax entropy percentile] [--num-images 64] [--input-size H W] \\
        [--threads 1] [--repeat 20]

Exports CHECKPOINT with ``tools/deployment/pytorch2onnx.py --dynamic`` (decode inside),
converts it to fp16 and quantises it to int8 with each calibration method
(``tools/deployment/quantize_onnx.py``), then

* ``--eval``: evaluates the PyTorch checkpoint and every ONNX model with
  ``tools/test.py CONFIG MODEL [--backend onnxruntime] --eval bbox`` (COCO AP / AP50);
* times ONNX Runtime on a ``1 x 3 x H x W`` input (network + decode, what the graph does)
  for every model, and the PyTorch model (BN folded, channels-last) with its decode on the
  same input, alternating the runs (medians), and prints each one's ratio to fp32 ONNX.

Prints a markdown table (and writes it with the figures to ``WORK_DIR/deploy_table.json``).
"""
import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--work-dir', required=True, help='where the models are written')
    parser.add_argument('--eval', action='store_true', help='evaluate every model (COCO AP)')
    parser.add_argument('--methods', nargs='+', default=['minmax', 'entropy', 'percentile'],
                        choices=('entropy', 'minmax', 'percentile'), help='int8 calibrations')
    parser.add_argument('--num-images', type=int, default=64, help='calibration images')
    parser.add_argument('--input-size', type=int, nargs=2, metavar=('H', 'W'),
                        help='timed input size (default: the config\'s input_size)')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--repeat', type=int, default=20)
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed on to the tools (e.g. a calibration data_root)')
    return parser.parse_args(argv)


def run_tool(script: str, *args: str) -> str:
    """Runs one of the repository's tools in a subprocess; returns its output."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, osp.join(ROOT, script), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f'{script} {" ".join(args)} failed:\n{proc.stderr[-3000:]}')
    return proc.stdout + proc.stderr


def coco_ap(output: str) -> tuple:
    """``(AP, AP50)`` from a ``tools/test.py --eval bbox`` output."""
    match = re.search(r'bbox_mAP_copypaste: ([\d.]+) ([\d.]+)', output)
    if not match:
        raise RuntimeError(f'no COCO AP in the output:\n{output[-2000:]}')
    return float(match.group(1)), float(match.group(2))


def weights_mib(checkpoint: str) -> float:
    """Size of a checkpoint's weights (its state dict's tensors; no optimizer state)."""
    from mmcenternet.checkpoint import safe_load, state_dict_of
    state = state_dict_of(safe_load(checkpoint, map_location='cpu'), checkpoint)
    return sum(t.numel() * t.element_size() for t in state.values()) / 2**20


def build_models(args, work: str) -> dict:
    """Exports and converts; returns ``{variant: onnx file}``."""
    opts = ['--cfg-options', *args.cfg_options] if args.cfg_options else []
    files = {'fp32': osp.join(work, 'model_fp32.onnx'),
             'fp16': osp.join(work, 'model_fp16.onnx')}
    run_tool('tools/deployment/pytorch2onnx.py', args.config, args.checkpoint, '--out',
             files['fp32'], '--dynamic', *opts)
    run_tool('tools/deployment/quantize_onnx.py', args.config, files['fp32'], '--out',
             files['fp16'], '--fp16')
    for method in args.methods:
        files[f'int8-{method}'] = osp.join(work, f'model_int8_{method}.onnx')
        run_tool('tools/deployment/quantize_onnx.py', args.config, files['fp32'], '--out',
                 files[f'int8-{method}'], '--method', method, '--num-images',
                 str(args.num_images), *opts)
    return files


def time_models(args, files: dict, size) -> dict:
    """Median latency (ms) of every ONNX model and of the fused PyTorch model, alternated."""
    import torch
    from mmengine.registry import DefaultScope

    from mmcenternet.checkpoint import load_weights
    from mmcenternet.deploy import CenterNetONNX, load_session
    from mmcenternet.engine.config import load_config
    from mmcenternet.models.utils import optimize_for_inference
    from mmcenternet.registry import MODELS
    from mmcenternet.utils import register_all_modules
    from mmcenternet.utils.benchmark import quiet_logs, time_cases
    torch.set_num_threads(args.threads)
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config)
    with quiet_logs(), DefaultScope.overwrite_default_scope('mmcenternet'):
        model = MODELS.build(cfg.model)
    load_weights(model, args.checkpoint)
    net = CenterNetONNX(optimize_for_inference(model.eval(), channels_last=True))
    x = torch.randn(1, 3, *size, generator=torch.Generator().manual_seed(0))
    feed = {'input': x.numpy()}
    sessions = {k: load_session(f, args.threads) for k, f in files.items()}
    cases = {k: (lambda s=s: s.run(None, feed)) for k, s in sessions.items()}

    def pytorch():
        with torch.no_grad():
            net.outputs(x)

    cases['pytorch'] = pytorch
    timings = time_cases(cases, warmup=args.warmup, repeat=args.repeat)
    return {k: t.median * 1e3 for k, t in timings.items()}


def main(argv=None) -> dict:
    args = parse_args(argv)
    from mmcenternet.engine.config import load_config
    os.makedirs(args.work_dir, exist_ok=True)
    cfg = load_config(args.config)
    width, height = cfg.get('input_size', (512, 512))
    size = tuple(args.input_size or (height, width))
    files = build_models(args, args.work_dir)
    rows = {k: dict(file=f, size_mib=osp.getsize(f) / 2**20) for k, f in files.items()}
    rows['pytorch'] = dict(file=args.checkpoint, size_mib=weights_mib(args.checkpoint))
    if args.eval:
        for key, row in rows.items():
            backend = [] if key == 'pytorch' else ['--backend', 'onnxruntime']
            out = run_tool('tools/test.py', args.config, row['file'], '--eval', 'bbox',
                           '--work-dir', osp.join(args.work_dir, f'test_{key}'), *backend)
            row['ap'], row['ap50'] = coco_ap(out)
    for key, ms in time_models(args, files, size).items():
        rows[key]['latency_ms'] = ms
    base = rows['fp32']['latency_ms']
    print(f'\nCPU latency: {args.threads} thread(s), 1x3x{size[0]}x{size[1]} input -> '
          f'detections, medians of {args.repeat} alternating runs\n')
    print('| model | size (MiB) | AP | AP50 | latency (ms) | vs fp32 ONNX |')
    print('| --- | ---: | ---: | ---: | ---: | ---: |')
    for key, row in rows.items():
        ap = f"{row['ap']:.3f} | {row['ap50']:.3f}" if 'ap' in row else '- | -'
        name = 'PyTorch (fused, eager)' if key == 'pytorch' else f'ONNX Runtime {key}'
        print(f"| {name} | {row['size_mib']:.2f} | {ap} | {row['latency_ms']:.1f} | "
              f"{row['latency_ms'] / base:.2f} |")
    result = dict(rows=rows, input_size=size, threads=args.threads, repeat=args.repeat,
                  config=args.config, checkpoint=args.checkpoint)
    with open(osp.join(args.work_dir, 'deploy_table.json'), 'w') as f:
        json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main()
