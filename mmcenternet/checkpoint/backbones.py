"""Key mapping of pretrained backbones of the official recipes onto our backbones.

ImageNet ResNet (torchvision) and DLA-34 (the DLA authors'), ExtremeNet / CornerNet
Hourglass-104, torchvision MobileNetV2 / ShuffleNetV2. The mappers of the official CenterNet
converter (:mod:`~mmcenternet.checkpoint.official`) are reused: the ImageNet ResNet keys are
the official ``res``/``resdcn`` backbone keys, the DLA ImageNet keys are the official
``base.*`` keys without the prefix, and ExtremeNet / CornerNet share the official
``hourglass`` backbone. Used by :class:`mmcenternet.models.utils.PretrainedMapped`.
"""
import re
from collections import OrderedDict
from typing import Callable, Dict, List, Mapping, Optional, Tuple

import torch

from mmcenternet.errors import ConversionError
from .keymap import KeyMapper, map_keys, strip_module_prefix, sub_mapper
from .official import DROPPED_PATTERNS, dla_mappers, hourglass_mappers, resnet_mappers

__all__ = ['PRETRAINED_MAPPINGS', 'map_pretrained_backbone']

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
    return [sub_mapper(r'((?:conv1|stage[234])\..+)', r'backbone.\1')]


#: Pretrained source layout -> (key prefix added before mapping, mappers, dropped patterns).
PRETRAINED_MAPPINGS: Dict[str, Tuple[str, Callable[[], List[KeyMapper]], Tuple[str, ...]]] = {
    # torchvision ImageNet ResNet (``resnet18-5c106cde.pth``): torchvision names, ``fc`` dropped
    'torchvision_resnet': ('', resnet_mappers, DROPPED_PATTERNS['resnet']),
    # DLA authors' ImageNet DLA-34 (``dla34-ba72cf86.pth``): the official ``base`` without the
    # ``base.`` prefix, ``fc`` dropped
    'dla34_imagenet': ('base.', dla_mappers, DROPPED_PATTERNS['dla']),
    # ExtremeNet / CornerNet (``exkp`` / ``kp``, 2 stacks) -> mmdet ``HourglassNet``
    'extremenet': ('', hourglass_mappers, _HOURGLASS_HEAD_PATTERNS),
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

    def to_backbone(key: str) -> Optional[str]:  # the first mapping, if in the backbone
        out = next((out for out in (m(key) for m in mappers) if out is not None), None)
        return out[len('backbone.'):] if out and out.startswith('backbone.') else None

    state, dropped, unmapped = map_keys(OrderedDict(
        (add_prefix + k, v) for k, v in strip_module_prefix(state_dict).items()),
        [to_backbone], drop)
    dropped, unmapped = ([k[len(add_prefix):] for k in keys] for keys in (dropped, unmapped))
    if unmapped:
        raise ConversionError(
            f'{len(unmapped)} key(s) are not part of a {mapping!r} backbone: '
            f'{unmapped[:10]}{" ..." if len(unmapped) > 10 else ""}')
    return state, dropped
