"""Print the fully merged config: ``python tools/misc/print_config.py CONFIG [--cfg-options]``."""
import argparse

from mmengine.config import DictAction

from mmcenternet.engine.config import load_config
from mmcenternet.utils.cli import friendly_errors


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Print the whole config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. model.backbone.depth=50')
    return parser.parse_args(argv)


def main(argv=None) -> str:
    args = parse_args(argv)
    # no start-up checks: the config is shown as it is, to find what is wrong in it
    cfg = load_config(args.config, args.cfg_options, check=False)
    text = cfg.pretty_text
    print(f'Config:\n{text}')
    return text


if __name__ == '__main__':
    with friendly_errors():
        main()
