"""Export a CenterNet checkpoint to ONNX, with the decode inside the graph.

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT --out model.onnx \\
        [--input-size H W] [--dynamic] [--no-decode] [--fp16] [--opset 19] [--verify]

The graph takes ``input`` (B, 3, H, W), the image after the config's test pipeline and data
preprocessor, and gives ``bboxes`` (B, K, 4, network-input pixels), ``scores`` (B, K),
``labels`` (B, K, int64) and the decoder's other ``instance_keys`` / ``point_keys`` /
``finalize_keys`` (``--no-decode``: the activated branch maps instead). A config whose model
cannot go to standard ONNX (Keypoint Triplets) stops with a one-line error saying why.
DCNv2 is the standard ONNX ``DeformConv`` (opset 19). Run it with ``tools/test.py CONFIG model.onnx --backend onnxruntime --eval bbox`` or
``demo/image_demo.py ... --backend onnxruntime``; see docs/deployment.md.
"""
import argparse
import os.path as osp


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Export a CenterNet model to ONNX')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='the .onnx file to write')
    parser.add_argument('--input-size', type=int, nargs=2, metavar=('H', 'W'),
                        help='input height and width traced (default: the config\'s '
                        'input_size); the graph is fixed to it unless --dynamic')
    parser.add_argument('--dynamic', action='store_true',
                        help='dynamic batch, height and width (needed for the official '
                        'keep_res test pipeline, whose input follows each image\'s size)')
    parser.add_argument('--no-decode', action='store_true',
                        help='stop at the activated branch maps (no decode in the graph)')
    parser.add_argument('--fp16', action='store_true',
                        help='convert to float16 (inputs and outputs stay float32)')
    parser.add_argument('--opset', type=int, default=19, help='ONNX opset (>= 19)')
    parser.add_argument('--verify', action='store_true',
                        help='compare ONNX Runtime with PyTorch on random inputs')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    return parser.parse_args(argv)


def default_input_size(cfg):
    """``(H, W)``: the fixed size of the config's test ``CenterAffine``, else the config's
    ``input_size`` (its training size), else 512 x 512."""
    pipeline = cfg.get('test_pipeline') or cfg.test_dataloader.dataset.pipeline
    for step in pipeline:
        if step.get('type') == 'CenterAffine' and not step.get('keep_res', False):
            width, height = step.get('input_size', (512, 512))
            return int(height), int(width)
    width, height = cfg.get('input_size', (512, 512))
    return int(height), int(width)


def keep_res_pipeline(cfg) -> bool:
    """Whether the test pipeline feeds each image at its own (padded) size."""
    pipeline = cfg.get('test_pipeline') or cfg.test_dataloader.dataset.pipeline
    return any(step.get('type') == 'CenterAffine' and step.get('keep_res', False)
               for step in pipeline)


def main(argv=None) -> dict:
    args = parse_args(argv)
    import torch
    from mmengine.registry import DefaultScope

    from mmcenternet.checkpoint import load_weights
    from mmcenternet.deploy import check_exportable, export_onnx
    from mmcenternet.deploy.ort_detector import load_session
    from mmcenternet.deploy.verify import compare_with_pytorch
    from mmcenternet.engine.config import load_config
    from mmcenternet.registry import MODELS
    from mmcenternet.utils import register_all_modules
    from mmcenternet.utils.benchmark import quiet_logs

    cfg = load_config(args.config, args.cfg_options)
    register_all_modules(init_default_scope=False)
    with quiet_logs(), DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmcenternet')):
        model = MODELS.build(cfg.model)
    check_exportable(model, cfg)  # before loading: a one-line error for what cannot export
    load_weights(model, args.checkpoint)
    model.eval()
    height, width = args.input_size or default_input_size(cfg)
    if keep_res_pipeline(cfg) and not args.dynamic:
        print(f'note: the test pipeline of {args.config} keeps each image\'s size; a model '
              f'fixed to {height}x{width} cannot evaluate it (export with --dynamic)')
    meta = export_onnx(model, args.out, (1, 3, height, width), decode=not args.no_decode,
                       dynamic=args.dynamic, opset=args.opset, cfg=cfg, fp16=args.fp16)
    size_mb = osp.getsize(args.out) / 2**20
    print(f'wrote {args.out} ({size_mb:.1f} MiB, opset {args.opset}, '
          f'{"fp16" if args.fp16 else "fp32"}, input {"dynamic" if args.dynamic else ""}'
          f'{"" if args.dynamic else f"1x3x{height}x{width}"}); outputs: '
          f'{", ".join(meta["output_names"])}')
    if args.verify:
        session = load_session(args.out)
        gen = torch.Generator().manual_seed(0)
        sizes = [(height, width)] + ([(height + 32, width - 32)] if args.dynamic and
                                     width > 64 else [])
        inputs = [torch.randn(1, 3, h, w, generator=gen) for h, w in sizes]
        tol = 1e-2 if args.fp16 else 1e-4
        for (h, w), diff in zip(sizes, compare_with_pytorch(model, session, inputs, tol)):
            if 'box' in diff:  # detections, paired one to one
                text = (f'boxes {diff["box"]:.2e} px, scores {diff["score"]:.2e}, ' +
                        ''.join(f'{k} {v:.2e}, ' for k, v in diff['extras'].items()) +
                        f'{diff["labels"]} of {diff["num_ours"]} unpaired')
            else:  # --no-decode: branch maps
                text = ', '.join(f'{k} {v:.2e}' for k, v in diff.items())
            print(f'verify {h}x{w}, ONNX Runtime vs PyTorch (max abs difference): {text}')
    return meta


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        main()
