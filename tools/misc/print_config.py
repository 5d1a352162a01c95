"""Print the fully merged config: ``python tools/misc/print_config.py CONFIG [--cfg-options]``."""
import argparse

from mmengine.config import DictAction

from mmcenternet.utils.cli import friendly_errors, load_config, validate_cfg_options


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Print the whole config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. model.backbone.depth=50')
    return parser.parse_args(argv)


def main(argv=None) -> str:
    args = parse_args(argv)
    cfg = load_config(args.config)
    if args.cfg_options:
        validate_cfg_options(cfg, args.cfg_options)
        cfg.merge_from_dict(args.cfg_options)
    text = cfg.pretty_text
    print(f'Config:\n{text}')
    return text


if __name__ == '__main__':
    with friendly_errors():
        main()
