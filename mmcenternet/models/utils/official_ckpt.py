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
from typing import Callable, Dict, List, Mapping, Optional, Tuple

import torch

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


def detect_task(state_dict: Mapping[str, torch.Tensor]) -> str:
    """The official ``task`` of a state dict from its heads: ``'multi_pose'`` with an
    ``hps`` head, ``'ddd'`` with ``dep``, ``rot`` and ``dim``, else ``'ctdet'``."""
    heads = {re.sub(r'^module\.', '', key).split('.')[0] for key in state_dict}
    if 'hps' in heads:
        return 'multi_pose'
    return 'ddd' if {'dep', 'rot', 'dim'} <= heads else 'ctdet'


def detect_head_map(state_dict: Mapping[str, torch.Tensor]) -> Dict[str, str]:
    """The head map of a checkpoint's task (:func:`detect_task`)."""
    return dict(TASK_HEAD_MAPS[detect_task(state_dict)])

#: (block type, blocks per stage) -> ResNet depth, as the official ``resnet_spec``.
_RESNET_DEPTHS: Dict[Tuple[str, Tuple[int, ...]], int] = {
    ('basic', (2, 2, 2, 2)): 18,
    ('basic', (3, 4, 6, 3)): 34,
    ('bottleneck', (3, 4, 6, 3)): 50,
    ('bottleneck', (3, 4, 23, 3)): 101,
    ('bottleneck', (3, 8, 36, 3)): 152,
}

#: Keys of official checkpoints that have no counterpart and are dropped (with a warning).
_DROPPED_PATTERNS: Dict[str, Tuple[str, ...]] = {
    # the DLA ImageNet classifier, attached to ``base`` by ``load_pretrained_model``
    'dla': (r'^base\.fc\.',),
    # torchvision's classifier, if a checkpoint ever carries it
    'resnet': (r'^fc\.',),
    'hourglass': (),
}

KeyMapper = Callable[[str], Optional[str]]


class ConversionError(ValueError):
    """Raised for an unknown architecture or keys that cannot be mapped."""


def strip_module_prefix(state_dict: Mapping[str, torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """Removes the ``module.`` prefix of (Data)Parallel checkpoints, as the official loader."""
    out = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith('module.') and not key.startswith('module_list'):
            key = key[len('module.'):]
        out[key] = value
    return out


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


def _sub(pattern: str, repl: str) -> KeyMapper:
    """A mapper applying ``re.sub`` when ``pattern`` matches the whole key, else ``None``."""
    regex = re.compile(pattern)

    def mapper(key: str) -> Optional[str]:
        if regex.fullmatch(key) is None:
            return None
        return regex.sub(repl, key)
    return mapper


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


def _resnet_mappers() -> List[KeyMapper]:
    """ResNet (mmdet names equal torchvision's) and the flat deconv neck."""
    return [
        _sub(r'((?:conv1|bn1|layer[1-4])\..+)', r'backbone.\1'),
        lambda k: (_rename_dcn('neck.layers.' + k[len('deconv_layers.'):])
                   if k.startswith('deconv_layers.') else None),
    ]


def _dla_mappers() -> List[KeyMapper]:
    """DLA-34 backbone (``base`` -> ``backbone``) and the DLAUp/IDAUp neck."""
    return [
        _sub(r'base\.(.+)', r'backbone.\1'),
        lambda k: (_rename_dcn('neck.' + k)
                   if k.startswith('dla_up.') or k.startswith('ida_up.') else None),
    ]


def _hourglass_block(path: str) -> str:
    """Official ``residual`` -> mmdet ``BasicBlock``: ``skip.<i>`` -> ``downsample.<i>``."""
    return re.sub(r'(^|\.)skip\.', r'\1downsample.', path)


def _hourglass_mappers() -> List[KeyMapper]:
    """Official ``exkp`` (CornerNet-style, 2 stacks) -> mmdet ``HourglassNet``.

    ``pre`` -> ``stem`` (its ``residual`` becomes the one-block ``ResLayer`` ``stem.1.0``),
    ``kps`` -> ``hourglass_modules`` (same recursive ``up1/low1/low2/low3`` names),
    ``cnvs`` -> ``out_convs``, ``inters_`` -> ``conv1x1s``, ``cnvs_`` -> ``remap_convs``
    (``Sequential(conv, bn)`` -> ``ConvModule`` ``conv/bn``); ``inters`` keeps its name (mmdet
    holds them as the blocks of one ``ResLayer``).
    """
    return [
        _sub(r'pre\.0\.(conv|bn)\.(.+)', r'backbone.stem.0.\1.\2'),
        lambda k: ('backbone.stem.1.0.' + _hourglass_block(k[len('pre.1.'):])
                   if k.startswith('pre.1.') else None),
        lambda k: ('backbone.hourglass_modules.' + _hourglass_block(k[len('kps.'):])
                   if k.startswith('kps.') else None),
        _sub(r'cnvs\.(\d+)\.(conv|bn)\.(.+)', r'backbone.out_convs.\1.\2.\3'),
        _sub(r'inters_\.(\d+)\.0\.(.+)', r'backbone.conv1x1s.\1.conv.\2'),
        _sub(r'inters_\.(\d+)\.1\.(.+)', r'backbone.conv1x1s.\1.bn.\2'),
        _sub(r'cnvs_\.(\d+)\.0\.(.+)', r'backbone.remap_convs.\1.conv.\2'),
        _sub(r'cnvs_\.(\d+)\.1\.(.+)', r'backbone.remap_convs.\1.bn.\2'),
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


def map_keys(state_dict: Mapping[str, torch.Tensor], mappers: List[KeyMapper],
             dropped_patterns: Tuple[str, ...] = ()
             ) -> Tuple['OrderedDict[str, torch.Tensor]', List[str], List[str]]:
    """Renames every key with the first mapper that maps it.

    Returns:
        ``(converted, dropped, unmapped)``: the renamed tensors (detached, contiguous),
        the keys matching ``dropped_patterns`` and the keys no mapper maps.

    Raises:
        ConversionError: When two keys map to the same name.
    """
    dropped_res = [re.compile(p) for p in dropped_patterns]
    converted: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    dropped, unmapped = [], []
    for key, value in state_dict.items():
        if any(p.match(key) for p in dropped_res):
            dropped.append(key)
            continue
        new_key = next((out for out in (m(key) for m in mappers) if out is not None), None)
        if new_key is None:
            unmapped.append(key)
            continue
        if new_key in converted:
            raise ConversionError(f'two keys map to {new_key!r} (the second is {key!r})')
        converted[new_key] = value.detach().contiguous() if torch.is_tensor(value) else value
    return converted, dropped, unmapped


def read_checkpoint(path: str) -> Tuple[object, Optional[dict]]:
    """Loads a checkpoint file safely (the project's weights-only loader: it cannot run
    code, and a bad file is a one-line ``CheckpointError``).

    Returns:
        ``(checkpoint, state_dict)``: the loaded object and its ``state_dict`` (the object
        itself for a bare state dict), or None when it holds none.
    """
    from mmcenternet.utils.checkpoint import safe_torch_load
    checkpoint = safe_torch_load(path, map_location='cpu')
    state_dict = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint,
                                                                       dict) else None
    return checkpoint, state_dict if isinstance(state_dict, dict) else None


def convert_official_state_dict(
        state_dict: Mapping[str, torch.Tensor], arch: Optional[str] = None,
        head_map: Optional[Mapping[str, str]] = None) -> 'OrderedDict[str, torch.Tensor]':
    """Converts an official CenterNet state dict to the mmcenternet layout.

    Args:
        state_dict: The official ``checkpoint['state_dict']`` (``module.`` prefixes allowed).
        arch: Official ``--arch`` (``res_18``, ``resdcn_18``, ``resdcn_101``, ``dla_34``,
            ``hourglass``, ...); detected from the keys when ``None``.
        head_map: Official head name -> our branch name; by default
            :func:`detect_head_map` (``hm``/``wh``/``reg``, plus ``hps``/``hm_hp``/
            ``hp_offset`` for ``multi_pose`` checkpoints). Pass extra entries for other
            heads (e.g. 3D).

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
    head_map = dict(detect_head_map(state_dict) if head_map is None else head_map)

    if family in ('res', 'resdcn'):
        group = 'resnet'
        mappers = _resnet_mappers()
    elif family == 'dla':
        group = 'dla'
        mappers = _dla_mappers()
    else:
        group = 'hourglass'
        mappers = _hourglass_mappers()
    mappers = _head_mappers(head_map, hourglass=group == 'hourglass') + mappers
    converted, dropped, unmapped = map_keys(state_dict, mappers, _DROPPED_PATTERNS[group])
    if unmapped:
        raise ConversionError(
            f'{len(unmapped)} key(s) of the {arch} checkpoint have no mapping: {unmapped}. '
            f'Known heads: {sorted(head_map)} (extend them with head_map / --head-map).')
    if dropped:
        warnings.warn(f'dropped {len(dropped)} unused official key(s): {dropped}')
    return converted


# ---------------------------------------------------------------------------------------------
# Pretrained backbones of the official recipes (ImageNet ResNet / DLA-34, ExtremeNet/CornerNet)
# ---------------------------------------------------------------------------------------------
#: Keys of the ExtremeNet / CornerNet Hourglass checkpoints outside the backbone: ExtremeNet's
#: heads (``t_heats`` ... ``ct_heats``, ``t_regrs`` ...; ``hm_t`` ... / ``reg_t`` ... after the
#: official ``convert_hourglass_weight.py``) and CornerNet's (``tl_cnvs`` corner pooling,
#: ``tl_heats``, ``tl_tags``, ``tl_regrs`` and the ``br_`` ones). The official CenterNet loads
#: none of them (its heads are named ``hm``/``wh``/``reg``).
_HOURGLASS_HEAD_PATTERNS: Tuple[str, ...] = (
    r'^(?:t|l|b|r|ct)_(?:heats|regrs)\.',
    r'^(?:hm|reg)_(?:t|l|b|r|c)\.',
    r'^(?:tl|br)_(?:cnvs|heats|tags|regrs)\.',
)

#: torchvision's MobileNetV2 ``features.<i>``: (expand ratio, blocks) of mmdet's
#: ``layer1..7`` (the paper's table 2); ``features.0`` is the stem, ``features.18`` the final
#: 1x1 conv (mmdet's ``conv1`` / ``conv2``).
_MOBILENET_V2_LAYERS = ((1, 1), (6, 2), (6, 3), (6, 4), (6, 3), (6, 3), (6, 1))


def _mobilenet_v2_mappers() -> List[KeyMapper]:
    """torchvision ``mobilenet_v2`` (``features.<i>...``) -> mmdet ``MobileNetV2``.

    A torchvision block is ``conv.0`` (ConvBNReLU: ``.0`` conv, ``.1`` BN), ... with the
    1x1 expansion first when the expand ratio is not 1; mmdet names the same three (or two)
    convs ``expand_conv``, ``depthwise_conv``, ``linear_conv`` (each ``conv`` + ``bn``).
    """
    blocks = {}
    index = 1
    for layer, (expand, count) in enumerate(_MOBILENET_V2_LAYERS, start=1):
        for block in range(count):
            blocks[index] = (f'layer{layer}.{block}', expand != 1)
            index += 1
    expanded = {'conv.0.0': 'expand_conv.conv', 'conv.0.1': 'expand_conv.bn',
                'conv.1.0': 'depthwise_conv.conv', 'conv.1.1': 'depthwise_conv.bn',
                'conv.2': 'linear_conv.conv', 'conv.3': 'linear_conv.bn'}
    plain = {'conv.0.0': 'depthwise_conv.conv', 'conv.0.1': 'depthwise_conv.bn',
             'conv.1': 'linear_conv.conv', 'conv.2': 'linear_conv.bn'}
    ends = {0: 'conv1', index: 'conv2'}

    def mapper(key: str) -> Optional[str]:
        m = re.fullmatch(r'features\.(\d+)\.(.+)\.(\w+)', key)
        if m is None:
            return None
        i, path, param = int(m.group(1)), m.group(2), m.group(3)
        if i in ends:
            module = {'0': 'conv', '1': 'bn'}.get(path)
            return None if module is None else f'backbone.{ends[i]}.{module}.{param}'
        if i not in blocks:
            return None
        name, has_expand = blocks[i]
        module = (expanded if has_expand else plain).get(path)
        return None if module is None else f'backbone.{name}.{module}.{param}'
    return [mapper]


def _shufflenet_v2_mappers() -> List[KeyMapper]:
    """torchvision ``shufflenet_v2_x*``: our ``ShuffleNetV2`` keeps its names."""
    return [_sub(r'((?:conv1|stage[234])\..+)', r'backbone.\1')]


#: Pretrained source layout -> (key prefix added before mapping, mappers, dropped patterns).
PRETRAINED_MAPPINGS: Dict[str, Tuple[str, Callable[[], List[KeyMapper]], Tuple[str, ...]]] = {
    # torchvision ImageNet ResNet (``resnet18-5c106cde.pth``): torchvision names, ``fc`` dropped
    'torchvision_resnet': ('', _resnet_mappers, _DROPPED_PATTERNS['resnet']),
    # DLA authors' ImageNet DLA-34 (``dla34-ba72cf86.pth``): the official ``base`` without the
    # ``base.`` prefix, ``fc`` dropped
    'dla34_imagenet': ('base.', _dla_mappers, _DROPPED_PATTERNS['dla']),
    # ExtremeNet / CornerNet (``exkp`` / ``kp``, 2 stacks) -> mmdet ``HourglassNet``
    'extremenet': ('', _hourglass_mappers, _HOURGLASS_HEAD_PATTERNS),
    # torchvision ImageNet MobileNetV2 (``mobilenet_v2-b0353104.pth``) -> mmdet MobileNetV2,
    # the classifier dropped
    'torchvision_mobilenet_v2': ('', _mobilenet_v2_mappers, (r'^classifier\.',)),
    # torchvision ImageNet ShuffleNetV2 (``shufflenetv2_x1-5666bf0f80.pth``, x0.5, ...) -> our
    # ShuffleNetV2: the classification conv5 and fc dropped
    'torchvision_shufflenet_v2': ('', _shufflenet_v2_mappers, (r'^conv5\.', r'^fc\.')),
}


def map_pretrained_backbone(
        state_dict: Mapping[str, torch.Tensor],
        mapping: str) -> Tuple['OrderedDict[str, torch.Tensor]', List[str]]:
    """Maps a pretrained checkpoint of an official source onto our backbone's key names.

    Reuses the official-checkpoint mappers above: the ImageNet ResNet keys are the official
    ``res``/``resdcn`` backbone keys, the DLA ImageNet keys are the official ``base.*`` keys
    without the prefix, and ExtremeNet / CornerNet share the official ``hourglass`` backbone.

    Args:
        state_dict: The source state dict (``module.`` prefixes allowed).
        mapping: A key of :data:`PRETRAINED_MAPPINGS`.

    Returns:
        ``(state, dropped)``: the tensors under the backbone's own names (without
        ``backbone.``), and the source keys dropped as known non-backbone parts (classifier,
        detection heads).

    Raises:
        ConversionError: An unknown mapping, or keys that are neither backbone keys nor known
            non-backbone parts (all listed).
    """
    if mapping not in PRETRAINED_MAPPINGS:
        raise ConversionError(f'unknown pretrained mapping {mapping!r}; known: '
                              f'{sorted(PRETRAINED_MAPPINGS)}')
    add_prefix, make_mappers, drop = PRETRAINED_MAPPINGS[mapping]
    mappers = make_mappers()
    dropped_patterns = [re.compile(p) for p in drop]
    state: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    dropped, unmapped = [], []
    for key, value in strip_module_prefix(state_dict).items():
        key = add_prefix + key
        if any(p.match(key) for p in dropped_patterns):
            dropped.append(key[len(add_prefix):])
            continue
        new_key = next((out for out in (m(key) for m in mappers) if out is not None), None)
        if new_key is None or not new_key.startswith('backbone.'):
            unmapped.append(key[len(add_prefix):])
            continue
        state[new_key[len('backbone.'):]] = value
    if unmapped:
        raise ConversionError(
            f'{len(unmapped)} key(s) are not part of a {mapping!r} backbone: '
            f'{unmapped[:10]}{" ..." if len(unmapped) > 10 else ""}')
    return state, dropped
