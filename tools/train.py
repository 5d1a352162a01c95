"""Train a detector: ``python tools/train.py CONFIG [options]`` (mmdet-compatible CLI)."""
import argparse

from mmengine.config import Config

from mmcenternet.engine.config import load_config
from mmcenternet.engine.launch import (add_launch_arguments, build_runner, finish_distributed,
                                       parse_tool_args, set_run_options)
from mmcenternet.engine.workdir_lock import work_dir_lock
from mmcenternet.errors import ConfigError
from mmcenternet.utils import register_all_modules


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a CenterNet detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by the actual batch size / base batch size')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from the given checkpoint, or from the latest one in '
                        'the work dir when no path is given')
    add_launch_arguments(parser)
    return parse_tool_args(parser, argv)


def build_cfg(args) -> Config:
    """Loads the config and applies the command-line options."""
    cfg = load_config(args.config, args.cfg_options)
    set_run_options(cfg, args.config, args.work_dir, args.launcher,
                    strict_load=not args.no_strict_load)
    if args.amp:  # AMP, still skipping the steps the non-finite loss guard skips
        cfg.optim_wrapper.type = 'GuardedAmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise ConfigError('--auto-scale-lr needs `auto_scale_lr = dict(base_batch_size=N)` '
                             f'in {args.config}')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main(argv=None):
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    cfg = build_cfg(args)
    # one training per work dir (refuses a second one with the first one's pid)
    with work_dir_lock(cfg.work_dir):
        runner = build_runner(cfg, args.launcher)
        runner.train()
    finish_distributed()  # a distributed run's ranks leave together (and the process exits)


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        main()
