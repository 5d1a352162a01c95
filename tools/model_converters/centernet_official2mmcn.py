"""Convert an official CenterNet checkpoint (xingyizhou/CenterNet) to mmcenternet.

Usage::

    python tools/model_converters/centernet_official2mmcn.py \
        ctdet_coco_dla_2x.pth ctdet_coco_dla_2x_mmcn.pth [--arch dla_34]
    python tools/model_converters/centernet_official2mmcn.py \
        multi_pose_dla_3x.pth multi_pose_dla_3x_mmcn.pth   # pose heads detected

The arch (``res_18``, ``resdcn_18``, ``resdcn_101``, ``dla_34``, ``hourglass``, ...) and the
task (``ctdet``; ``multi_pose``, the ``hps`` heads; ``ddd``, the monocular 3D heads
``dep``/``rot``/``dim``) are detected from the keys when not given. The source is read with ``weights_only=True`` (a
checkpoint cannot run code) and the result holds plain tensors only, so it loads with
``torch.load(weights_only=True)`` / ``load_from=...``. The key mapping lives in
``mmcenternet.checkpoint.official``; the head names of each official task are here.
"""
import argparse
import sys
from typing import Dict, List, Mapping, Optional

from mmcenternet.checkpoint import atomic_torch_save, strip_module_prefix
from mmcenternet.checkpoint.official import (convert_official_state_dict, detect_arch,
                                             read_checkpoint)
from mmcenternet.errors import CheckpointError, ConversionError

# TODO(codec.official_heads): build these tables from the registered codecs (the
# ``TASK_UTILS`` classes with an ``official_heads`` attribute) once the codecs carry them.
#: Official head name -> our branch name (ctdet).
DEFAULT_HEAD_MAP: Dict[str, str] = {'hm': 'heatmap', 'wh': 'wh', 'reg': 'offset'}
#: ... of ``multi_pose`` (``hps``, ``hm_hp``, ``hp_offset``; configs/centernet_pose) ...
MULTI_POSE_HEAD_MAP: Dict[str, str] = dict(DEFAULT_HEAD_MAP, hps='kps', hm_hp='kp_heatmap',
                                           hp_offset='kp_offset')
#: ... and of monocular 3D (``ddd``): ctdet's heads plus depth, rotation bins and size.
DDD_HEAD_MAP: Dict[str, str] = dict(DEFAULT_HEAD_MAP, dep='depth', rot='rot', dim='dim')
#: Head maps by official ``task``.
TASK_HEAD_MAPS: Dict[str, Dict[str, str]] = {
    'ctdet': DEFAULT_HEAD_MAP, 'multi_pose': MULTI_POSE_HEAD_MAP, 'ddd': DDD_HEAD_MAP}


def detect_task(state_dict: Mapping) -> str:
    """The official ``task`` of a state dict from its heads: ``'multi_pose'`` with an
    ``hps`` head, ``'ddd'`` with ``dep``, ``rot`` and ``dim``, else ``'ctdet'``."""
    heads = {key.split('.')[0] for key in strip_module_prefix(state_dict)}
    if 'hps' in heads:
        return 'multi_pose'
    return 'ddd' if {'dep', 'rot', 'dim'} <= heads else 'ctdet'


def detect_head_map(state_dict: Mapping) -> Dict[str, str]:
    """The head map of a checkpoint's task (:func:`detect_task`)."""
    return dict(TASK_HEAD_MAPS[detect_task(state_dict)])


def parse_head_map(items: Optional[List[str]],
                   base: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """``['hps=kpt_offset', ...]`` -> the ``base`` head map (default: ctdet's) extended by
    those entries."""
    head_map = dict(DEFAULT_HEAD_MAP if base is None else base)
    for item in items or []:
        official, sep, ours = item.partition('=')
        if not sep or not official or not ours:
            raise SystemExit(f'--head-map entries are OFFICIAL=OURS, got {item!r}')
        head_map[official] = ours
    return head_map


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert an official CenterNet checkpoint to mmcenternet')
    parser.add_argument('src', help='official checkpoint (.pth)')
    parser.add_argument('dst', help='output checkpoint (.pth)')
    parser.add_argument('--arch', default=None,
                        help='official --arch: res_18, resdcn_18, resdcn_101, dla_34, '
                        'hourglass, ... (detected from the keys when omitted)')
    parser.add_argument('--task', choices=sorted(TASK_HEAD_MAPS), default=None,
                        help='official task of the checkpoint (its heads); detected from '
                        'the keys when omitted')
    parser.add_argument('--head-map', nargs='*', metavar='OFFICIAL=OURS',
                        help='extra head name mappings (default hm=heatmap wh=wh reg=offset, '
                        'and hps=kps hm_hp=kp_heatmap hp_offset=kp_offset for multi_pose)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Convert; a bad source raises CheckpointError / ConversionError (one-line error)."""
    args = parse_args(argv)
    checkpoint, state_dict = read_checkpoint(args.src)
    if state_dict is None:
        raise CheckpointError(f'{args.src} holds no state dict')
    try:
        plain = strip_module_prefix(state_dict)
        arch = args.arch or detect_arch(plain)
        task = args.task or detect_task(plain)
        converted = convert_official_state_dict(
            state_dict, arch, parse_head_map(args.head_map, TASK_HEAD_MAPS[task]))
    except ConversionError as err:
        raise ConversionError(f'{args.src}: {err}') from err
    meta = {'source': str(args.src), 'arch': arch, 'task': task,
            'converter': 'centernet_official2mmcn'}
    epoch = checkpoint.get('epoch') if isinstance(checkpoint, dict) else None
    if isinstance(epoch, int):
        meta['official_epoch'] = epoch
    atomic_torch_save({'meta': meta, 'state_dict': converted}, args.dst)
    print(f'{arch} ({task}): converted {len(converted)} tensors -> {args.dst}')
    return 0


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        sys.exit(main())
