"""Key mapping from Duan et al.'s Keypoint Triplets checkpoints (Duankaiwen/CenterNet) to
mmcenternet.

Duan's ``NetworkFactory.save_params`` saves ``DummyModule(model).state_dict()``: a plain
state dict (no ``{'state_dict': ...}`` wrapper) whose keys start with ``module.``. Its
model (``models/CenterNet-104.py`` / ``-52.py`` on ``kp.py``) is CornerNet's hourglass
(``pre``, ``kps``, ``cnvs``, ``inters``, ``inters_``, ``cnvs_``; one stack for -52, so no
``inters*`` / ``cnvs_``) plus, per stack ``s``:

* ``tl_cnvs.s`` / ``br_cnvs.s`` (``pool``: cascade corner pooling) and ``ct_cnvs.s``
  (``pool_cross``: center pooling) -> ``bbox_head.pools.{tl,br,ct}.s`` (mmdet's
  ``BiCornerPool`` names): ``p1_conv1`` / ``p2_conv1`` -> ``direction1_conv`` /
  ``direction2_conv``, ``p_conv1`` + ``p_bn1`` -> ``aftpool_conv.conv/bn``, ``conv1`` +
  ``bn1`` -> ``conv1.conv/bn``, ``conv2`` -> ``conv2``, ``look_conv{1,2}`` ->
  ``look{1,2}_conv``, ``P{1,2}_look_conv`` -> ``look{1,2}_fuse``;
* ``{tl,br,ct}_heats.s``, ``{tl,br}_tags.s``, ``{tl,br,ct}_regrs.s`` ->
  ``bbox_head.branches.{tl,br,ct}_{heatmap,embedding,offset}.s`` (``0.conv`` -> ``0``,
  ``1`` -> ``2``).

The hourglass part is mapped as for official CenterNet's ``hourglass`` (same layout).
"""
import re
from collections import OrderedDict
from typing import List, Mapping, Optional

import torch

from mmcenternet.errors import ConversionError
from .keymap import KeyMapper, map_keys, strip_module_prefix
from .official import hourglass_mappers

#: Duan's pooling module names -> ours (inside ``bbox_head.pools.<kp>.<stack>``).
POOL_NAMES = {
    'p1_conv1': 'direction1_conv', 'p2_conv1': 'direction2_conv',
    'p_conv1': 'aftpool_conv.conv', 'p_bn1': 'aftpool_conv.bn',
    'conv1': 'conv1.conv', 'bn1': 'conv1.bn', 'conv2': 'conv2',
    'look_conv1': 'look1_conv', 'look_conv2': 'look2_conv',
    'P1_look_conv': 'look1_fuse', 'P2_look_conv': 'look2_fuse',
}
#: Duan's output layers -> our branch names.
BRANCH_NAMES = {
    'tl_heats': 'tl_heatmap', 'br_heats': 'br_heatmap', 'ct_heats': 'ct_heatmap',
    'tl_tags': 'tl_embedding', 'br_tags': 'br_embedding',
    'tl_regrs': 'tl_offset', 'br_regrs': 'br_offset', 'ct_regrs': 'ct_offset',
}


def _pool_mapper(key: str) -> Optional[str]:
    match = re.fullmatch(r'(tl|br|ct)_cnvs\.(\d+)\.(\w+)\.(.+)', key)
    if match is None or match.group(3) not in POOL_NAMES:
        return None
    kp, stack, name, rest = match.groups()
    return f'bbox_head.pools.{kp}.{stack}.{POOL_NAMES[name]}.{rest}'


def _branch_mapper(key: str) -> Optional[str]:
    names = '|'.join(BRANCH_NAMES)
    match = re.fullmatch(rf'({names})\.(\d+)\.(0\.conv|1)\.(weight|bias)', key)
    if match is None:
        return None
    layer, stack, part, param = match.groups()
    index = 0 if part == '0.conv' else 2
    return f'bbox_head.branches.{BRANCH_NAMES[layer]}.{stack}.{index}.{param}'


def duan_mappers() -> List[KeyMapper]:
    """Every key mapper of a Duan checkpoint (head first, then the hourglass)."""
    return [_pool_mapper, _branch_mapper] + hourglass_mappers()


def num_stacks(state_dict: Mapping[str, torch.Tensor]) -> int:
    """Stacks of a Duan checkpoint (2: CenterNet-104, 1: CenterNet-52)."""
    stacks = {int(m.group(1)) for k in state_dict if (m := re.match(r'kps\.(\d+)\.', k))}
    if not stacks or not any(k.startswith('ct_cnvs.') for k in state_dict):
        raise ConversionError('not a Keypoint Triplets (Duankaiwen/CenterNet) checkpoint: it '
                              f'has no kps.* / ct_cnvs.* keys. First keys: {list(state_dict)[:8]}')
    return len(stacks)


def convert_duan_state_dict(
        state_dict: Mapping[str, torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """Converts a Duan Keypoint Triplets state dict to the mmcenternet layout.

    Args:
        state_dict: Duan's saved params (``module.`` prefixes allowed).

    Returns:
        The converted state dict (detached, contiguous tensors), loadable with
        ``strict=True`` into ``CenterNet`` with ``mmdet.HourglassNet`` (2 stacks) or
        ``StackedHourglassNet`` (1 stack) and ``TripletHead`` (see the configs in
        configs/centernet_triplet/).

    Raises:
        ConversionError: Not a Duan checkpoint, or keys without a mapping (all listed).
    """
    state_dict = strip_module_prefix(state_dict)
    num_stacks(state_dict)
    converted, _, unmapped = map_keys(state_dict, duan_mappers())
    if unmapped:
        raise ConversionError(f'{len(unmapped)} key(s) of the Duan checkpoint have no '
                              f'mapping: {unmapped}')
    return converted
