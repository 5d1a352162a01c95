"""Key mapping from MMDetection 3.x CenterNet checkpoints to mmcenternet.

mmdet's ``CenterNet`` (``configs/centernet/centernet_r18[-dcnv2]_8xb16-crop512-140e_coco.py``)
is a ResNet, a ``CTResNetNeck`` and a ``CenterNetHead`` with three heads. Its layout:

* ``backbone.*``: mmdet ``ResNet``, as ours (unchanged).
* ``neck.deconv_layers.{2i}.{conv,bn}.*``: the 3x3 conv of up-sampling stage ``i``
  (``ModulatedDeformConv2dPack`` with ``use_dcn=True``, else a plain conv), in a
  ``ConvModule`` with BN and without conv bias; ``neck.deconv_layers.{2i+1}.{conv,bn}.*``: the
  4x4 transposed conv and its BN.
* ``bbox_head.{heatmap,wh,offset}_head.{0,2}.*``: 3x3 conv, ReLU, 1x1 conv per branch.

Ours (docs/CONTRACTS.md) keeps the official flat ``nn.Sequential``
``[conv3x3, BN, ReLU, ConvTranspose2d, BN, ReLU] x 3`` in ``neck.layers`` and the branches in
``bbox_head.branches.<name>.0``. The official 3x3 conv has a bias, mmdet's has none (its BN
follows): it gets zeros, which gives the same outputs. mmdet's plain-conv R18 maps to our
``CenterNetDeconvNeck`` with ``conv_cfg=None`` (a plain 3x3 conv); its DCN R18 to our
``centernet_r18-dcnv2`` configs.

``benchmarks/compare_mmdet.py`` and ``tools/model_converters/mmdet2mmcn.py`` use this.
"""
import re
from typing import Dict, Mapping

from torch import Tensor

from mmcenternet.errors import ConversionError

_NECK_KEY = re.compile(r'^neck\.deconv_layers\.(\d+)\.(conv|bn)\.(.+)$')
_HEAD_KEY = re.compile(r'^bbox_head\.(heatmap|wh|offset)_head\.(\d+)\.(.+)$')
#: Layers per up-sampling stage in our neck: conv, BN, ReLU, deconv, BN, ReLU.
_STAGE = 6


def map_mmdet_key(key: str) -> str:
    """One mmdet CenterNet state-dict key -> ours (see the module docstring).

    Raises:
        KeyError: For a key outside this layout.
    """
    if key.startswith('backbone.'):
        return key
    match = _NECK_KEY.match(key)
    if match:
        index, kind, rest = int(match.group(1)), match.group(2), match.group(3)
        stage, upsample = divmod(index, 2)
        pos = _STAGE * stage + 3 * upsample + (1 if kind == 'bn' else 0)
        return f'neck.layers.{pos}.{rest}'
    match = _HEAD_KEY.match(key)
    if match:
        return f'bbox_head.branches.{match.group(1)}.0.{match.group(2)}.{match.group(3)}'
    raise KeyError(f'no mmcenternet counterpart for mmdet key {key!r}')


def convert_mmdet_state_dict(state: Mapping[str, Tensor]) -> Dict[str, Tensor]:
    """mmdet CenterNet weights -> ours; the result loads into our model strictly.

    The 3x3 neck convs (DCN or plain) get a zero bias, which mmdet's lack.

    Raises:
        ConversionError: For keys of another architecture (CenterNet-Update's FPN head,
            another neck), all named.
    """
    unknown = []
    out: Dict[str, Tensor] = {}
    for key, value in state.items():
        try:
            out[map_mmdet_key(key)] = value
        except KeyError:
            unknown.append(key)
    if unknown:
        shown = ', '.join(unknown[:5]) + (', ...' if len(unknown) > 5 else '')
        raise ConversionError(
            f'{len(unknown)} keys are not those of an mmdet CenterNet (ResNet + CTResNetNeck '
            f'+ CenterNetHead; CenterNet-Update is another model): {shown}')
    for key in list(out):
        match = re.match(r'^neck\.layers\.(\d+)\.weight$', key)
        if match and int(match.group(1)) % _STAGE == 0:
            out.setdefault(f'neck.layers.{match.group(1)}.bias',
                           out[key].new_zeros(out[key].shape[0]))
    return out


def neck_has_dcn(state: Mapping[str, Tensor]) -> bool:
    """Whether an mmdet CenterNet's neck uses DCN (``use_dcn=True``)."""
    return any(k.startswith('neck.') and 'conv_offset' in k for k in state)
