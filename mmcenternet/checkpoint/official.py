"""Key mapping from official CenterNet (xingyizhou/CenterNet) checkpoints to mmcenternet.

Official ``ctdet_*`` checkpoints are ``{'epoch': int, 'state_dict': {...}}`` (keys possibly
prefixed with ``module.``). Their layouts, by ``--arch``:

* ``res_<d>`` (``msra_resnet.py``) / ``resdcn_<d>`` (``resnet_dcn.py``): ``conv1``, ``bn1``,
  ``layer1..4`` (torchvision names), ``deconv_layers.<i>`` (flat Sequential), heads.
* ``dla_34`` (``pose_dla_dcn.py``): ``base.*`` (DLA-34; ``base.fc`` is the unused ImageNet
  classifier), ``dla_up.*``, ``ida_up.*``, heads.
* ``hourglass`` (``large_hourglass.py``): ``pre``, ``kps``, ``cnvs``, ``inters``, ``inters_``,
  ``cnvs_`` and per-stack heads ``<head>.<stack>.{0.conv,1}``.

Heads are ``<head>.0`` (3x3 conv) and ``<head>.2`` (1x1 conv), or ``<head>`` alone with
``head_conv=0``. The official DCN (``DCNv2.dcn_v2.DCN``) keeps its offset/mask conv in
``conv_offset_mask``; mmcv's ``ModulatedDeformConv2dPack`` calls it ``conv_offset`` and splits
its output identically (``o1, o2, mask = chunk(out, 3)``, ``offset = cat(o1, o2)``,
``mask = sigmoid(mask)``), so a rename suffices, no channel permutation.

Target layout (docs/CONTRACTS.md): ``backbone.*`` (mmdet ``ResNet`` / ``HourglassNet`` or our
``DLA``), ``neck.layers.<i>`` (``CenterNetDeconvNeck``) or ``neck.dla_up/ida_up`` (``DLANeck``),
``bbox_head.branches.<name>.<stack>.{0,2}``.
"""
import re
import warnings
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Tuple

import torch

from mmcenternet.errors import ConversionError
from .io import safe_load
from .keymap import KeyMapper, map_keys, strip_module_prefix, sub_mapper

__all__ = ['parse_arch', 'detect_arch', 'convert_official_state_dict', 'read_checkpoint',
           'resnet_mappers', 'dla_mappers', 'hourglass_mappers', 'DROPPED_PATTERNS']

#: (block type, blocks per stage) -> ResNet depth, as the official ``resnet_spec``.
_RESNET_DEPTHS: Dict[Tuple[str, Tuple[int, ...]], int] = {
    ('basic', (2, 2, 2, 2)): 18,
    ('basic', (3, 4, 6, 3)): 34,
    ('bottleneck', (3, 4, 6, 3)): 50,
    ('bottleneck', (3, 4, 23, 3)): 101,
    ('bottleneck', (3, 8, 36, 3)): 152,
}

#: Keys of official checkpoints that have no counterpart and are dropped (with a warning).
DROPPED_PATTERNS: Dict[str, Tuple[str, ...]] = {
    # the DLA ImageNet classifier, attached to ``base`` by ``load_pretrained_model``
    'dla': (r'^base\.fc\.',),
    # torchvision's classifier, if a checkpoint ever carries it
    'resnet': (r'^fc\.',),
    'hourglass': (),
}

def parse_arch(arch: str) -> Tuple[str, int]:
    """Splits an official ``--arch`` into family and depth.

    Returns:
        ``(family, depth)`` with family in ``res``, ``resdcn``, ``dla``, ``hourglass``;
        depth 0 for ``hourglass``.

    Raises:
        ConversionError: For an unsupported arch (``dlav0_34`` included).
    """
    match = re.fullmatch(r'(res|resdcn|dla)_(\d+)|(hourglass)', arch)
    if match is None:
        raise ConversionError(
            f'unknown arch {arch!r}; supported: res_<depth>, resdcn_<depth> '
            f'(depth {sorted({d for _, d in _RESNET_DEPTHS.items()})}), dla_34, hourglass')
    if match.group(3):
        return 'hourglass', 0
    family, depth = match.group(1), int(match.group(2))
    if family == 'dla' and depth != 34:
        raise ConversionError(f'unknown arch {arch!r}: only dla_34 is supported')
    if family in ('res', 'resdcn') and depth not in _RESNET_DEPTHS.values():
        raise ConversionError(f'unknown arch {arch!r}: ResNet depth must be one of '
                              f'{sorted(set(_RESNET_DEPTHS.values()))}')
    return family, depth


def _resnet_depth(keys: List[str]) -> int:
    """ResNet depth from the number of blocks per stage and the block type."""
    counts = []
    for stage in range(1, 5):
        blocks = {int(m.group(1)) for k in keys
                  if (m := re.match(rf'layer{stage}\.(\d+)\.', k))}
        counts.append(len(blocks))
    block = 'bottleneck' if 'layer1.0.conv3.weight' in keys else 'basic'
    depth = _RESNET_DEPTHS.get((block, tuple(counts)))
    if depth is None:
        raise ConversionError(f'cannot recognise the ResNet: {block} blocks {counts} per stage')
    return depth


def detect_arch(state_dict: Mapping[str, torch.Tensor]) -> str:
    """Guesses the official ``--arch`` of a state dict (without ``module.`` prefixes).

    Raises:
        ConversionError: When the layout matches none of the supported ones.
    """
    keys = list(state_dict)
    has_dcn = any('conv_offset_mask' in k for k in keys)
    if any(k.startswith('base.') for k in keys):
        if not any(k.startswith('ida_up.') for k in keys):
            raise ConversionError('this looks like a dlav0 (DLA without DCN, no "ida_up") '
                                  'checkpoint, which is not supported')
        return 'dla_34'
    if any(k.startswith('kps.') for k in keys) and 'pre.0.conv.weight' in keys:
        return 'hourglass'
    if 'conv1.weight' in keys and any(k.startswith('layer1.') for k in keys):
        return f"{'resdcn' if has_dcn else 'res'}_{_resnet_depth(keys)}"
    raise ConversionError('cannot detect the arch of this checkpoint; pass it explicitly. '
                          f'First keys: {keys[:8]}')


def _rename_dcn(key: str) -> str:
    """Official ``conv_offset_mask`` -> mmcv ``conv_offset`` (same channel order)."""
    return key.replace('.conv_offset_mask.', '.conv_offset.')


def _head_mappers(head_map: Mapping[str, str], hourglass: bool) -> List[KeyMapper]:
    """Mappers for the official heads ``<head>.{0,2}`` / ``<head>`` / ``<head>.<s>.{0.conv,1}``."""
    names = '|'.join(re.escape(h) for h in sorted(head_map, key=len, reverse=True))
    if not names:
        return []

    def branch(match: 're.Match[str]') -> str:
        return f"bbox_head.branches.{head_map[match.group('head')]}"

    def mapper(key: str) -> Optional[str]:
        if hourglass:
            m = re.fullmatch(rf'(?P<head>{names})\.(?P<s>\d+)\.0\.conv\.(?P<p>weight|bias)', key)
            if m:
                return f"{branch(m)}.{m.group('s')}.0.{m.group('p')}"
            m = re.fullmatch(rf'(?P<head>{names})\.(?P<s>\d+)\.1\.(?P<p>weight|bias)', key)
            if m:
                return f"{branch(m)}.{m.group('s')}.2.{m.group('p')}"
            return None
        m = re.fullmatch(rf'(?P<head>{names})\.(?P<i>[02])\.(?P<p>weight|bias)', key)
        if m:
            return f"{branch(m)}.0.{m.group('i')}.{m.group('p')}"
        m = re.fullmatch(rf'(?P<head>{names})\.(?P<p>weight|bias)', key)
        if m:  # head_conv = 0: a lone 1x1 conv, our ``build_branch`` puts it at index 0
            return f"{branch(m)}.0.0.{m.group('p')}"
        return None
    return [mapper]


def resnet_mappers() -> List[KeyMapper]:
    """ResNet (mmdet names equal torchvision's) and the flat deconv neck."""
    return [
        sub_mapper(r'((?:conv1|bn1|layer[1-4])\..+)', r'backbone.\1'),
        lambda k: (_rename_dcn('neck.layers.' + k[len('deconv_layers.'):])
                   if k.startswith('deconv_layers.') else None),
    ]


def dla_mappers() -> List[KeyMapper]:
    """DLA-34 backbone (``base`` -> ``backbone``) and the DLAUp/IDAUp neck."""
    return [
        sub_mapper(r'base\.(.+)', r'backbone.\1'),
        lambda k: (_rename_dcn('neck.' + k)
                   if k.startswith('dla_up.') or k.startswith('ida_up.') else None),
    ]


def _hourglass_block(path: str) -> str:
    """Official ``residual`` -> mmdet ``BasicBlock``: ``skip.<i>`` -> ``downsample.<i>``."""
    return re.sub(r'(^|\.)skip\.', r'\1downsample.', path)


def hourglass_mappers() -> List[KeyMapper]:
    """Official ``exkp`` (CornerNet-style, 2 stacks) -> mmdet ``HourglassNet``.

    ``pre`` -> ``stem`` (its ``residual`` becomes the one-block ``ResLayer`` ``stem.1.0``),
    ``kps`` -> ``hourglass_modules`` (same recursive ``up1/low1/low2/low3`` names),
    ``cnvs`` -> ``out_convs``, ``inters_`` -> ``conv1x1s``, ``cnvs_`` -> ``remap_convs``
    (``Sequential(conv, bn)`` -> ``ConvModule`` ``conv/bn``); ``inters`` keeps its name (mmdet
    holds them as the blocks of one ``ResLayer``).
    """
    return [
        sub_mapper(r'pre\.0\.(conv|bn)\.(.+)', r'backbone.stem.0.\1.\2'),
        lambda k: ('backbone.stem.1.0.' + _hourglass_block(k[len('pre.1.'):])
                   if k.startswith('pre.1.') else None),
        lambda k: ('backbone.hourglass_modules.' + _hourglass_block(k[len('kps.'):])
                   if k.startswith('kps.') else None),
        sub_mapper(r'cnvs\.(\d+)\.(conv|bn)\.(.+)', r'backbone.out_convs.\1.\2.\3'),
        sub_mapper(r'inters_\.(\d+)\.0\.(.+)', r'backbone.conv1x1s.\1.conv.\2'),
        sub_mapper(r'inters_\.(\d+)\.1\.(.+)', r'backbone.conv1x1s.\1.bn.\2'),
        sub_mapper(r'cnvs_\.(\d+)\.0\.(.+)', r'backbone.remap_convs.\1.conv.\2'),
        sub_mapper(r'cnvs_\.(\d+)\.1\.(.+)', r'backbone.remap_convs.\1.bn.\2'),
        lambda k: ('backbone.' + _hourglass_block(k) if re.match(r'inters\.\d+\.', k)
                   else None),
    ]


def _check_arch(family: str, depth: int, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Raises :class:`ConversionError` when the keys contradict the requested arch."""
    detected = detect_arch(state_dict)
    det_family, det_depth = parse_arch(detected)
    if family == 'dla' and det_family == 'dla':
        return
    if (family, depth) != (det_family, det_depth):
        raise ConversionError(f'arch {family}_{depth} was requested but the checkpoint looks '
                              f'like {detected}' if depth else
                              f'arch {family} was requested but the checkpoint looks like '
                              f'{detected}')


def read_checkpoint(path: str) -> Tuple[object, Optional[dict]]:
    """Loads a checkpoint file safely (the project's weights-only loader: it cannot run
    code, and a bad file is a one-line ``CheckpointError``).

    Returns:
        ``(checkpoint, state_dict)``: the loaded object and its ``state_dict`` (the object
        itself for a bare state dict), or None when it holds none.
    """
    checkpoint = safe_load(path, map_location='cpu')
    state_dict = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint,
                                                                       dict) else None
    return checkpoint, state_dict if isinstance(state_dict, dict) else None


def convert_official_state_dict(
        state_dict: Mapping[str, torch.Tensor], arch: Optional[str],
        head_map: Mapping[str, str]) -> 'OrderedDict[str, torch.Tensor]':
    """Converts an official CenterNet state dict to the mmcenternet layout.

    Args:
        state_dict: The official ``checkpoint['state_dict']`` (``module.`` prefixes allowed).
        arch: Official ``--arch`` (``res_18``, ``resdcn_18``, ``resdcn_101``, ``dla_34``,
            ``hourglass``, ...); detected from the keys when ``None``.
        head_map: Official head name -> our branch name (``{'hm': 'heatmap', 'wh': 'wh',
            'reg': 'offset'}`` for ctdet). The task-specific names are not kept here:
            ``tools/model_converters/centernet_official2mmcn.py`` builds the map of a task.

    Returns:
        The converted state dict; values are the input tensors (detached, contiguous).
        Known-unused keys (``base.fc.*``) are dropped with a warning.

    Raises:
        ConversionError: Unknown arch, a checkpoint contradicting ``arch``, or keys without a
            mapping (all listed in the message).
    """
    state_dict = strip_module_prefix(state_dict)
    if arch is None:
        arch = detect_arch(state_dict)
    family, depth = parse_arch(arch)
    _check_arch(family, depth, state_dict)
    head_map = dict(head_map)

    if family in ('res', 'resdcn'):
        group = 'resnet'
        mappers = resnet_mappers()
    elif family == 'dla':
        group = 'dla'
        mappers = dla_mappers()
    else:
        group = 'hourglass'
        mappers = hourglass_mappers()
    mappers = _head_mappers(head_map, hourglass=group == 'hourglass') + mappers
    converted, dropped, unmapped = map_keys(state_dict, mappers, DROPPED_PATTERNS[group])
    if unmapped:
        raise ConversionError(
            f'{len(unmapped)} key(s) of the {arch} checkpoint have no mapping: {unmapped}. '
            f'Known heads: {sorted(head_map)} (extend them with head_map / --head-map).')
    if dropped:
        warnings.warn(f'dropped {len(dropped)} unused official key(s): {dropped}')
    return converted
