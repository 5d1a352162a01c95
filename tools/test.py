"""Test (and evaluate) a detector: ``python tools/test.py CONFIG CHECKPOINT [--eval bbox]``."""
import argparse
import os.path as osp

from mmengine.config import Config, ConfigDict

from mmcenternet.deploy.backend import add_backend_argument, apply_backend
from mmcenternet.engine.config import load_config
from mmcenternet.engine.launch import (add_launch_arguments, build_runner, finish_distributed,
                                       parse_tool_args, set_run_options)
from mmcenternet.errors import ConfigError
from mmcenternet.utils import register_all_modules
from mmcenternet.utils.eval_options import apply_eval_option


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a CenterNet detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file (the .onnx model with '
                        '--backend onnxruntime)')
    parser.add_argument('--eval', nargs='+', metavar='METRIC',
                        help='metrics to compute, among those the dataset supports '
                        '(bbox for COCO-format and VOC data; keypoints bbox for keypoint data)')
    parser.add_argument('--work-dir', help='the directory to save the evaluation metrics')
    parser.add_argument('--out', type=str, help='dump predictions to a pickle file')
    parser.add_argument('--out-dir', help='write per-image result files (KITTI format for '
                        'monocular 3D) with the evaluators that can (out_dir option)')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument('--show-dir', help='directory where painted images will be saved')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument('--show-heatmap', action='store_true',
                        help='with --show / --show-dir: draw the predicted class heatmap '
                        'under the boxes')
    parser.add_argument('--tta', action='store_true',
                        help='test-time augmentation as in the config\'s tta_model / '
                        'tta_pipeline (flip, multi-scale)')
    add_backend_argument(parser)
    add_launch_arguments(parser)
    return parse_tool_args(parser, argv)


def enable_visualization(cfg, args) -> None:
    """Turns on mmdet's visualization hook for --show / --show-dir."""
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise ConfigError('--show/--show-dir need default_hooks.visualization in the config')
    hook['draw'] = True
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        hook['test_out_dir'] = osp.abspath(args.show_dir)
    if args.show_heatmap:
        if args.tta:
            raise ConfigError('--show-heatmap cannot be used with --tta (the merged '
                              'views have no single heatmap)')
        hook['type'] = 'CenterNetVisualizationHook'  # mmdet's hook + the heatmap
        hook['show_heatmap'] = True


def enable_tta(cfg, config_path: str) -> None:
    """Wraps the model in ``cfg.tta_model`` and uses ``cfg.tta_pipeline``."""
    if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
        raise ConfigError(f'--tta needs tta_model and tta_pipeline in {config_path}')
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model


def set_out_dir(cfg, out_dir: str, config_path: str) -> None:
    """Sets ``out_dir`` on the test evaluators whose metric takes one."""
    import inspect

    from mmcenternet.registry import METRICS
    evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, (list, tuple)) else [
        cfg.test_evaluator]
    done = 0
    for ev in evaluators:
        metric_cls = METRICS.get(str(ev.get('type', '')))
        if metric_cls is not None and 'out_dir' in inspect.signature(metric_cls).parameters:
            ev['out_dir'] = osp.abspath(out_dir)
            done += 1
    if not done:
        raise ConfigError(f'--out-dir: no test evaluator of {config_path} writes result files')


def build_cfg(args) -> Config:
    cfg = load_config(args.config, args.cfg_options)
    set_run_options(cfg, args.config, args.work_dir, args.launcher,
                    strict_load=not args.no_strict_load)
    if args.eval:
        apply_eval_option(cfg, args.eval, args.config)
    cfg.load_from = args.checkpoint
    if args.show_heatmap and not (args.show or args.show_dir):
        raise ConfigError('--show-heatmap needs --show or --show-dir')
    if args.show or args.show_dir:
        enable_visualization(cfg, args)
    if args.tta:
        enable_tta(cfg, args.config)
    if args.out_dir:
        set_out_dir(cfg, args.out_dir, args.config)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ConfigError(f'--out must be a .pkl/.pickle file, got {args.out}')
        cfg.test_evaluator = [cfg.test_evaluator] if isinstance(
            cfg.test_evaluator, (dict, ConfigDict)) else list(cfg.test_evaluator)
        cfg.test_evaluator.append(dict(type='DumpDetResults', out_file_path=args.out))
    apply_backend(cfg, args.checkpoint, args.backend, args.tta)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    cfg = build_cfg(args)
    runner = build_runner(cfg, args.launcher)
    metrics = runner.test()
    finish_distributed()
    return metrics


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        main()
