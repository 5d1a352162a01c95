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
``mmcenternet.checkpoint.official``; the head names of each official task come from its
codec (``official_task``, ``official_heads``).
"""
import argparse
import sys
from typing import Dict, List, Mapping, Optional

from mmcenternet.checkpoint import atomic_torch_save, strip_module_prefix
from mmcenternet.checkpoint.official import (convert_official_state_dict, detect_arch,
                                             read_checkpoint)
from mmcenternet.errors import CheckpointError, ConversionError
from mmcenternet.registry import TASK_UTILS
from mmcenternet.utils import register_all_modules


def task_head_maps() -> Dict[str, Dict[str, str]]:
    """Official ``task`` -> {official head name: our branch name}, from the registered codecs
    (their ``official_task`` and ``official_heads``): a task names its heads in its own
    codec file, not here."""
    register_all_modules(init_default_scope=False)
    return {cls.official_task: dict(cls.official_heads)
            for cls in TASK_UTILS.module_dict.values()
            if vars(cls).get('official_task')}  # set by the class itself, not inherited


TASK_HEAD_MAPS: Dict[str, Dict[str, str]] = task_head_maps()


def detect_task(state_dict: Mapping) -> str:
    """The official ``task`` of a state dict from its heads: the task with the most of its
    heads present (ties: the one with fewer heads), e.g. ``'multi_pose'`` for ``hps`` (also
    without ``hm_hp``, official ``--not_hm_hp``), ``'ddd'`` for ``dep``/``rot``/``dim``."""
    heads = {key.split('.')[0] for key in strip_module_prefix(state_dict)}
    return max(TASK_HEAD_MAPS, key=lambda task: (len(heads & set(TASK_HEAD_MAPS[task])),
                                                  -len(TASK_HEAD_MAPS[task])))


def detect_head_map(state_dict: Mapping) -> Dict[str, str]:
    """The head map of a checkpoint's task (:func:`detect_task`)."""
    return dict(TASK_HEAD_MAPS[detect_task(state_dict)])


def parse_head_map(items: Optional[List[str]],
                   base: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """``['hps=kpt_offset', ...]`` -> the ``base`` head map (default: ctdet's) extended by
    those entries."""
    head_map = dict(TASK_HEAD_MAPS['ctdet'] if base is None else base)
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
