"""int8 (ONNX Runtime static quantisation) or fp16 copies of an exported CenterNet model.

    python tools/deployment/quantize_onnx.py CONFIG model.onnx --out model_int8.onnx \\
        [--method minmax|entropy|percentile] [--num-images 64] [--split train] \\
        [--per-tensor] [--exclude NODE ...]
    python tools/deployment/quantize_onnx.py CONFIG model.onnx --out model_fp16.onnx --fp16

int8: QDQ format, per-channel int8 weights, uint8 activations; calibration images from the
config's dataset (``--split``, default the training split so that the evaluation images
stay unseen), run through the config's test pipeline and data preprocessor. ``entropy``
is KL-divergence calibration. The decode and the last conv of every branch stay float32
(``--quantize-head-outputs`` quantises the latter too). fp16: ONNX Runtime's float16
converter (``onnxruntime.transformers.float16``), float32 inputs and outputs.
Evaluate the result with ``tools/test.py CONFIG model_int8.onnx --backend onnxruntime``.
"""
import argparse
import os.path as osp


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='int8 / fp16 copies of an exported model')
    parser.add_argument('config', help='the config the model was exported from')
    parser.add_argument('model', help='the fp32 .onnx model (tools/deployment/pytorch2onnx.py)')
    parser.add_argument('--out', required=True, help='the .onnx file to write')
    parser.add_argument('--fp16', action='store_true', help='fp16 conversion instead of int8')
    parser.add_argument('--method', default='minmax',
                        choices=('minmax', 'entropy', 'percentile'),
                        help='int8 calibration: minmax (default), entropy (KL divergence; '
                        'clips the rare large activations at objects, see '
                        'docs/deployment.md), percentile (99.999%%)')
    parser.add_argument('--num-images', type=int, default=64, help='calibration images')
    parser.add_argument('--split', default='train', choices=('train', 'val', 'test'),
                        help='whose <split>_dataloader.dataset gives the calibration images')
    parser.add_argument('--per-tensor', action='store_true',
                        help='one weight scale per tensor (default: per output channel)')
    parser.add_argument('--exclude', nargs='+', default=[], metavar='NODE',
                        help='more node names to keep in float32')
    parser.add_argument('--quantize-head-outputs', action='store_true',
                        help='quantise the last conv of every branch too (default: float32, '
                        'as int8 ranges clip the heatmap peaks and large box sizes)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings (e.g. the calibration data_root)')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    import onnx

    from mmcenternet.deploy.ort_detector import fixed_input_shape, load_session
    from mmcenternet.deploy.quantize import CalibrationReader, convert_fp16, quantize_int8
    from mmcenternet.engine.config import load_config
    from mmcenternet.utils import register_all_modules

    session = load_session(args.model)  # a clear error for a file that is not ONNX
    if args.fp16:
        proto = convert_fp16(onnx.load(args.model))
        onnx.checker.check_model(proto)
        onnx.save(proto, args.out)
        meta = {'precision': 'fp16'}
    else:
        cfg = load_config(args.config, args.cfg_options)
        register_all_modules(init_default_scope=False)
        fixed = fixed_input_shape(session)
        fixed_hw = fixed[2:] if fixed is not None and None not in fixed[2:] else None
        reader = CalibrationReader(cfg, args.num_images, args.split, fixed_hw)
        meta = quantize_int8(args.model, args.out, reader, args.method,
                             per_channel=not args.per_tensor, exclude=args.exclude,
                             head_outputs_fp32=not args.quantize_head_outputs)
    size_in, size_out = osp.getsize(args.model) / 2**20, osp.getsize(args.out) / 2**20
    print(f'wrote {args.out}: {meta.get("precision")} '
          f'{meta.get("calibration", "")} ({size_in:.2f} -> {size_out:.2f} MiB)')
    return meta


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        main()
