"""Convert a Keypoint Triplets checkpoint of Duan et al. (Duankaiwen/CenterNet) to mmcenternet.

Usage::

    python tools/model_converters/triplet_duan2mmcn.py \
        CenterNet-104_480000.pkl centernet-triplet_hg104_coco.pth

Duan's released files (``cache/nnet/CenterNet-{52,104}/CenterNet-{52,104}_480000.pkl``) are
``torch.save``d state dicts with ``module.`` prefixes; they are read with
``weights_only=True`` (a checkpoint cannot run code) and the result holds plain tensors
only, for ``load_from=...`` with configs/centernet_triplet/centernet-triplet_hg{52,104}_*.py
(the stack count is detected). The key mapping lives in
``mmcenternet.checkpoint.duan``.
"""
import argparse
import sys
from typing import List, Optional

import torch

from mmcenternet.checkpoint import strip_module_prefix
from mmcenternet.checkpoint.duan import convert_duan_state_dict, num_stacks
from mmcenternet.checkpoint.official import read_checkpoint
from mmcenternet.errors import ConversionError

CONFIGS = {1: 'centernet-triplet_hg52_8xb6-crop511-480k_coco.py',
           2: 'centernet-triplet_hg104_8xb6-crop511-480k_coco.py'}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert a Keypoint Triplets checkpoint (Duankaiwen/CenterNet) to '
        'mmcenternet')
    parser.add_argument('src', help="Duan's checkpoint (.pkl / .pth)")
    parser.add_argument('dst', help='output checkpoint (.pth)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    _, state_dict = read_checkpoint(args.src)
    if state_dict is None:
        print(f'error: {args.src} holds no state dict', file=sys.stderr)
        return 1
    try:
        stacks = num_stacks(strip_module_prefix(state_dict))
        converted = convert_duan_state_dict(state_dict)
    except ConversionError as err:
        print(f'error: {args.src}: {err}', file=sys.stderr)
        return 1
    meta = {'source': str(args.src), 'num_stacks': stacks, 'converter': 'triplet_duan2mmcn'}
    torch.save({'meta': meta, 'state_dict': converted}, args.dst)
    print(f'{stacks}-stack Keypoint Triplets: converted {len(converted)} tensors -> '
          f'{args.dst} (config: configs/centernet_triplet/{CONFIGS.get(stacks, "?")})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
