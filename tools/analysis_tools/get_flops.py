"""FLOPs and parameters of a CenterNet config's network (backbone, neck, head).

    python tools/analysis_tools/get_flops.py CONFIG [--shape 512 512] [--show-table]

Counts with mmengine's ``FlopAnalyzer`` (fvcore's convention: one multiply-add = 1 FLOP)
on a ``1 x 3 x H x W`` input. mmcv's deformable convs are opaque to the tracer; they are
counted here with their own formula (``B * O * Ho * Wo * C / groups * kh * kw`` for the
main conv; the offset conv is an ordinary ``nn.Conv2d`` and is counted as such), and
``DCNv2Fast`` modules are switched to mmcv's op for the count so that both kinds are
counted alike. Post-processing (decode) is not included.
"""
import argparse
import os.path as osp
import sys
from typing import Any, List

import torch
from mmengine.config import DictAction
from mmengine.registry import DefaultScope

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from mmcenternet.models.layers import DCNv2Fast  # noqa: E402
from mmcenternet.utils import register_all_modules  # noqa: E402
from mmcenternet.utils.benchmark import DenseNet, quiet_logs  # noqa: E402

# How jit names mmcv's deformable conv autograd functions.
DCN_OPS = ('prim::PythonOp.ModulatedDeformConv2dFunction',
           'prim::PythonOp.DeformConv2dFunction')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='FLOPs / params of a CenterNet config')
    parser.add_argument('config', help='config file')
    parser.add_argument('--shape', type=int, nargs='+', default=[512, 512],
                        help='input height [width]')
    parser.add_argument('--show-table', action='store_true', help='per-module table')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    return parser.parse_args(argv)


def _shape(value: Any) -> List[int]:
    """Shape of a traced jit value."""
    return list(value.type().sizes())


def deform_conv_flop(inputs: List[Any], outputs: List[Any]) -> int:
    """Multiply-adds of mmcv's (modulated) deformable conv from its traced op.

    Inputs are ``(x, offset, [mask,] weight, ...)``; the weight is the 4-D input whose
    first dimension is the output's channel count.
    """
    out_shape = _shape(outputs[0])
    for value in inputs[2:]:
        try:
            shape = _shape(value)
        except (RuntimeError, AttributeError, TypeError):
            continue
        if len(shape) == 4 and shape[0] == out_shape[1]:
            return out_shape[0] * out_shape[2] * out_shape[3] * shape[0] * shape[1] * \
                shape[2] * shape[3]
    return 0


def count(model: torch.nn.Module, shape: List[int], show_table: bool = False) -> dict:
    """``{'flops', 'params', 'activations', 'by_module', 'table'}`` for one image.

    ``by_module`` maps module names (prefixed ``detector.``) to their FLOPs.
    """
    from mmengine.analysis import ActivationAnalyzer, FlopAnalyzer, parameter_count
    from mmengine.analysis.print_helper import complexity_stats_table
    for module in model.modules():
        if isinstance(module, DCNv2Fast):
            module.impl = 'mmcv'
    height, width = shape[0], shape[-1]
    net = DenseNet(model).eval()
    inputs = (torch.randn(1, 3, height, width), )
    flops = FlopAnalyzer(net, inputs)
    for op in DCN_OPS:
        flops.set_op_handle(op, deform_conv_flop)
    flops.unsupported_ops_warnings(False)
    flops.uncalled_modules_warnings(False)
    activations = ActivationAnalyzer(net, inputs)
    activations.unsupported_ops_warnings(False)
    activations.uncalled_modules_warnings(False)
    out = dict(flops=flops.total(), params=parameter_count(net)[''],
               activations=activations.total(), by_module=dict(flops.by_module()), table='')
    if show_table:
        out['table'] = complexity_stats_table(flops=flops, activations=activations,
                                              show_param_shapes=False)
    return out


def format_result(res: dict, shape: List[int]) -> str:
    """The printed report of :func:`count`'s result."""
    lines = [res['table']] if res['table'] else []
    lines += [f'Input shape: 1x3x{shape[0]}x{shape[-1]}',
              f"Flops: {res['flops'] / 1e9:.2f} G (multiply-adds; deformable convs included)",
              f"Params: {res['params'] / 1e6:.2f} M",
              f"Activations: {res['activations'] / 1e6:.2f} M"]
    return '\n'.join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    with quiet_logs():
        return run(args)


def run(args: argparse.Namespace) -> int:
    """Runs the tool with parsed arguments."""
    from mmcenternet.engine.config import load_config
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config, args.cfg_options)
    from mmcenternet.registry import MODELS
    from mmcenternet.models.utils import strip_pretrained_init
    strip_pretrained_init(cfg.model)  # FLOPs need no pretrained weights (nor a download)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmcenternet')):
        model = MODELS.build(cfg.model)
        model.init_weights()
        with torch.no_grad():
            res = count(model, args.shape, args.show_table)
    print(format_result(res, args.shape))
    return 0


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        sys.exit(main())
