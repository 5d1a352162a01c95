"""Pretrained backbone initialisation from the official CenterNet sources.

The official recipes start their backbones from ImageNet (ResNet-18/101: torchvision's
checkpoints; DLA-34: the DLA authors' ``dla34-ba72cf86.pth``) or, for Hourglass-104, from the
ExtremeNet model. :class:`PretrainedMapped` is the weight initialiser that does this: it
downloads (or finds) the checkpoint, loads it weights-only, maps its keys onto our backbone
(:func:`mmcenternet.checkpoint.map_pretrained_backbone`) and loads it
**strictly**: every parameter and buffer of the target module must come from the checkpoint,
with the one exception that checkpoints saved before PyTorch 0.4.1 carry no BatchNorm
``num_batches_tracked`` counters (these keep the model's value, 0, as ``load_state_dict``
does for such files). Anything else missing, unexpected or of another shape is an error that
lists the keys.

The initialiser sits in the detector's ``init_cfg`` with ``module='backbone'``, and
:class:`LatePretrainedInitMixin` (mixed into :class:`~mmcenternet.models.detectors.CenterNet`)
applies it after every sub-module has run its own initialisation. mmengine does that only for
``type='Pretrained'``; without it, the backbone's own ``init_weights`` would overwrite the
loaded weights (mmdet's ``HourglassNet.init_weights`` resets every conv after its own
``init_cfg``, and mmdet's ``ResNet`` zero-initialises the last BN of each block).

Setting the environment variable ``MMCENTERNET_SKIP_PRETRAINED=1`` skips the loading with a
warning (the test suite does this so that building a config never reaches the network; the
pretrained path itself is tested against a local server). Tools that only need random
weights (benchmarks, FLOPs) remove the initialiser with :func:`strip_pretrained_init`.
"""
from __future__ import annotations

import os
import warnings
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.model.weight_init import initialize, update_init_info
from torch import nn

from mmcenternet.checkpoint import (PRETRAINED_MAPPINGS, compare_state_dicts, find_local,
                                    is_url, map_pretrained_backbone, safe_load, state_dict_of)
from mmcenternet.errors import CheckpointError, CheckpointNotFoundError, ConversionError
from mmcenternet.registry import WEIGHT_INITIALIZERS

__all__ = ['PretrainedMapped', 'LatePretrainedInitMixin', 'strip_pretrained_init',
           'SKIP_PRETRAINED_ENV', 'OFFICIAL_PRETRAINED']

SKIP_PRETRAINED_ENV = 'MMCENTERNET_SKIP_PRETRAINED'

#: The sources the official code loads (and the alternatives), by name.
OFFICIAL_PRETRAINED: Dict[str, Dict[str, Any]] = {
    # msra_resnet.py / resnet_dcn.py ``model_urls`` (PyTorch 0.1 .tar files)
    'resnet18': dict(checkpoint='https://download.pytorch.org/models/resnet18-5c106cde.pth',
                     mapping='torchvision_resnet'),
    'resnet101': dict(checkpoint='https://download.pytorch.org/models/resnet101-5d3b4d8f.pth',
                      mapping='torchvision_resnet'),
    # pose_dla_dcn.py get_model_url('imagenet', 'dla34', 'ba72cf86')
    'dla34': dict(checkpoint='http://dl.yf.io/dla/models/imagenet/dla34-ba72cf86.pth',
                  mapping='dla34_imagenet'),
    # experiments/ctdet_coco_hg.sh --load_model ../models/ExtremeNet_500000.pth (Google Drive,
    # see configs/centernet/README.md); the raw ExtremeNet_500000.pkl loads as well
    'extremenet': dict(checkpoint='ExtremeNet_500000.pth', mapping='extremenet'),
    # mmdet's CornerNet HG-104 (8x6, 41.2 AP): mmdet's HourglassNet layout under 'backbone.'
    'cornernet_mmdet': dict(
        checkpoint='https://download.openmmlab.com/mmdetection/v2.0/cornernet/'
        'cornernet_hourglass104_mstest_8x6_210e_coco/'
        'cornernet_hourglass104_mstest_8x6_210e_coco_20200825_150618-79b44c30.pth',
        prefix='backbone.'),
    # The light backbones (configs/centerface, configs/centernet_light): torchvision's ImageNet
    # MobileNetV2 and ShuffleNetV2, and mmdet's ImageNet MobileNetV2 and DarkNet-53 (the files
    # of its YOLOv3 configs' 'open-mmlab://mmdet/mobilenet_v2' and 'open-mmlab://darknet53',
    # which those configs load into the backbone as they are: mmdet's own key names)
    'mobilenet_v2': dict(
        checkpoint='https://download.pytorch.org/models/mobilenet_v2-b0353104.pth',
        mapping='torchvision_mobilenet_v2'),
    'mobilenet_v2_mmdet': dict(
        checkpoint='https://download.openmmlab.com/mmdetection/v2.0/third_party/'
        'mobilenet_v2_batch256_imagenet-ff34753d.pth', mapping=None),
    'shufflenetv2_x1.0': dict(
        checkpoint='https://download.pytorch.org/models/shufflenetv2_x1-5666bf0f80.pth',
        mapping='torchvision_shufflenet_v2'),
    'shufflenetv2_x0.5': dict(
        checkpoint='https://download.pytorch.org/models/shufflenetv2_x0.5-f707e7126e.pth',
        mapping='torchvision_shufflenet_v2'),
    'darknet53': dict(
        checkpoint='https://download.openmmlab.com/pretrain/third_party/darknet53-a628ea1b.pth',
        mapping=None),
}

_TYPE_NAMES = ('PretrainedMapped', 'mmcenternet.PretrainedMapped')

_NOT_FOUND_HINTS = {
    'extremenet': (
        'The official HG-104 starts from the ExtremeNet model, which is on Google Drive only '
        '(https://drive.google.com/file/d/1JMbHgN4uLkP9MAyJU5EeHrgxwe101hwO, linked from the '
        'official readme/GETTING_STARTED.md): put it in the cache folder or pass its path, '
        "or select mmdet's CornerNet HG-104, which downloads (configs/centernet/README.md, "
        '"Pretrained backbones").'),
}


def _skip_requested() -> bool:
    return os.environ.get(SKIP_PRETRAINED_ENV, '').strip().lower() in ('1', 'true', 'yes')


def _fill_num_batches_tracked(state: 'OrderedDict[str, torch.Tensor]',
                              target_state: Mapping[str, torch.Tensor]) -> int:
    """Adds the model's BN counters when the checkpoint has none at all (PyTorch < 0.4.1).

    Returns:
        How many were added.
    """
    suffix = 'num_batches_tracked'
    if any(key.endswith(suffix) for key in state):
        return 0
    added = 0
    for key, value in target_state.items():
        if key.endswith('.' + suffix) and key not in state:
            state[key] = value.clone()
            added += 1
    return added


@WEIGHT_INITIALIZERS.register_module()
class PretrainedMapped:
    """Initialise a module (or one of its sub-modules) from a mapped pretrained checkpoint.

    Unlike mmengine's ``Pretrained``, the load is strict (every key of the target, no
    unexpected key, same shapes), the keys can be mapped from an official source's layout,
    downloads are hash-checked, load-checked before they are cached (see
    :mod:`mmcenternet.checkpoint.download`) and every file is loaded weights-only
    (:func:`mmcenternet.checkpoint.safe_load`, which also reads PyTorch 0.1's ``.tar``
    format).

    Args:
        checkpoint: An http(s) URL, a file path, or a bare file name looked up in the cache
            folder (``<torch hub dir>/checkpoints``).
        mapping: The source layout: ``'torchvision_resnet'``, ``'dla34_imagenet'``,
            ``'extremenet'``, ``'torchvision_mobilenet_v2'``, ``'torchvision_shufflenet_v2'``
            (see ``mmcenternet.checkpoint.PRETRAINED_MAPPINGS``), or ``None`` when
            the keys already are the target's (after ``prefix``).
        prefix: Take only the checkpoint keys starting with this and strip it (e.g.
            ``'backbone.'`` for an mmdet detector checkpoint); applied before ``mapping``.
        module: Dotted name of the sub-module to load into (``'backbone'``), or ``None`` for
            the module the initialiser is applied to.
        check_hash: Verify the SHA-256 prefix that a downloaded file's name carries.
        cache_dir: The download cache; ``<torch hub dir>/checkpoints`` when ``None``.
        map_location: Where to load the tensors.
    """

    def __init__(self, checkpoint: str, mapping: Optional[str] = None,
                 prefix: Optional[str] = None, module: Optional[str] = None,
                 check_hash: bool = True, cache_dir: Optional[str] = None,
                 map_location: Union[str, torch.device] = 'cpu') -> None:
        if not isinstance(checkpoint, str) or not checkpoint:
            raise ValueError(f'PretrainedMapped: checkpoint must be a URL or a path, got '
                             f'{checkpoint!r}')
        if mapping is not None and mapping not in PRETRAINED_MAPPINGS:
            raise ValueError(f'PretrainedMapped: unknown mapping {mapping!r}; choose one of '
                             f'{sorted(PRETRAINED_MAPPINGS)} or None')
        self.checkpoint = checkpoint
        self.mapping = mapping
        self.prefix = prefix
        self.module = module
        self.check_hash = check_hash
        self.cache_dir = cache_dir
        self.map_location = map_location

    def _target(self, module: nn.Module) -> nn.Module:
        if not self.module:
            return module
        try:
            return module.get_submodule(self.module)
        except AttributeError as exc:
            raise CheckpointError(
                f'PretrainedMapped: {type(module).__name__} has no sub-module '
                f'{self.module!r} to load {self.checkpoint} into.') from exc

    def _source_state(self) -> Tuple['OrderedDict[str, torch.Tensor]', List[str]]:
        """The checkpoint's tensors under the target's names, and the dropped keys."""
        source = self.checkpoint
        try:
            if not is_url(source):
                source = find_local(source, self.cache_dir)
        except CheckpointNotFoundError as exc:
            hint = _NOT_FOUND_HINTS.get(self.mapping, '')
            raise CheckpointNotFoundError(f'{exc} {hint}'.strip()) from exc
        name = self.checkpoint if source == self.checkpoint else f'{self.checkpoint} ({source})'
        loaded = safe_load(source, self.map_location, name=name,
                           cache_dir=self.cache_dir, check_hash=self.check_hash)
        state = state_dict_of(loaded, self.checkpoint)
        dropped: List[str] = []
        if self.prefix:
            selected = OrderedDict((k[len(self.prefix):], v) for k, v in state.items()
                                   if k.startswith(self.prefix))
            if not selected:
                raise CheckpointError(
                    f'{self.checkpoint}: no key starts with prefix {self.prefix!r} '
                    f'(first keys: {list(state)[:5]}).')
            dropped = [k for k in state if not k.startswith(self.prefix)]
            state = selected
        if self.mapping:
            try:
                state, more = map_pretrained_backbone(state, self.mapping)
            except ConversionError as exc:
                raise CheckpointError(f'{self.checkpoint}: {exc}.') from exc
            dropped += more
        return state, dropped

    def __call__(self, module: nn.Module) -> None:
        where = f'{type(module).__name__}' + (f'.{self.module}' if self.module else '')
        if _skip_requested():
            warnings.warn(f'{SKIP_PRETRAINED_ENV} is set: {where} is NOT initialised from '
                          f'{self.checkpoint}')
            return
        target = self._target(module)
        state, dropped = self._source_state()
        target_state = target.state_dict()
        filled = _fill_num_batches_tracked(state, target_state)
        report = compare_state_dicts(target_state, state).summary(limit=10)
        if report:
            raise CheckpointError(
                f'{self.checkpoint}: the pretrained weights (mapping {self.mapping!r}, prefix '
                f'{self.prefix!r}) do not fit {where} ({type(target).__name__}): {report}.')
        target.load_state_dict(state, strict=True)
        notes = []
        if dropped:
            shown = ', '.join(dropped[:4]) + (', ...' if len(dropped) > 4 else '')
            notes.append(f'{len(dropped)} non-backbone keys not used ({shown})')
        if filled:
            notes.append(f'{filled} BatchNorm num_batches_tracked absent from the file '
                         '(saved before PyTorch 0.4.1), left at 0')
        print_log(f'{where}: loaded all {len(target_state)} tensors from {self.checkpoint}'
                  + (f'; {"; ".join(notes)}' if notes else ''), logger='current')
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=f'PretrainedMapped: {where} from '
                             f'{self.checkpoint} (mapping {self.mapping})')


def _is_late(init_cfg: Any) -> bool:
    return isinstance(init_cfg, Mapping) and (
        init_cfg.get('type') in _TYPE_NAMES or init_cfg.get('type') is PretrainedMapped)


def _as_list(init_cfg: Any) -> List[Any]:
    if init_cfg is None:
        return []
    return list(init_cfg) if isinstance(init_cfg, (list, tuple)) else [init_cfg]


class LatePretrainedInitMixin:
    """Applies ``PretrainedMapped`` entries of ``init_cfg`` after all other initialisation.

    mmengine's ``BaseModule.init_weights`` runs a module's ``init_cfg`` before its children's
    ``init_weights``, except for ``type='Pretrained'``. This mixin gives ``PretrainedMapped``
    the same late slot, and keeps mmengine's per-parameter initialisation record
    (``_params_init_info``) so that the log names the pretrained file.
    """

    def init_weights(self) -> None:
        init_cfgs = _as_list(getattr(self, 'init_cfg', None))
        late = [cfg for cfg in init_cfgs if _is_late(cfg)]
        if not late or getattr(self, '_is_init', False):
            super().init_weights()
            return
        top_level = not hasattr(self, '_params_init_info')
        if top_level:
            # What mmengine does for the top-level module, so that it is not the one to dump
            # and delete the record before the late initialisers have run.
            from collections import defaultdict
            info: Dict = defaultdict(dict)
            for param in self.parameters():
                info[param]['init_info'] = ('The value is the same before and after calling '
                                            f'`init_weights` of {type(self).__name__} ')
                info[param]['tmp_mean_value'] = param.data.mean().cpu()
            for sub_module in self.modules():
                sub_module._params_init_info = info
        original = self.init_cfg
        early = [cfg for cfg in init_cfgs if not _is_late(cfg)]
        try:
            self.init_cfg = early or None
            try:
                super().init_weights()
            finally:
                self.init_cfg = original
            try:
                # The class itself as ``type``: no default scope is needed to find it.
                initialize(self, [dict(cfg, type=PretrainedMapped) for cfg in late])
            except BaseException:
                self._is_init = False  # a retry (e.g. once the file is there) runs it all
                raise
            if top_level:
                self._dump_init_info()
        finally:
            if top_level:
                for sub_module in self.modules():
                    if hasattr(sub_module, '_params_init_info'):
                        del sub_module._params_init_info


def strip_pretrained_init(model_cfg: Any) -> List[str]:
    """Removes pretrained-loading initialisers from a model config, in place.

    For tools that only need random weights (benchmarks, FLOPs): removes every ``init_cfg``
    entry of type ``PretrainedMapped`` or ``Pretrained``, at any depth of the config.

    Returns:
        The dotted config paths of the removed entries.
    """
    removed: List[str] = []

    def visit(node: Any, path: str) -> None:
        if isinstance(node, dict):
            init_cfg = node.get('init_cfg')
            cfgs = _as_list(init_cfg)
            keep = [c for c in cfgs if not (
                _is_late(c) or (isinstance(c, Mapping) and c.get('type') in (
                    'Pretrained', 'mmengine.Pretrained')))]
            if len(keep) != len(cfgs):
                removed.append(f'{path}.init_cfg' if path else 'init_cfg')
                node['init_cfg'] = (None if not keep else
                                    keep[0] if isinstance(init_cfg, Mapping) else keep)
            for key, value in node.items():
                if key != 'init_cfg':
                    visit(value, f'{path}.{key}' if path else str(key))
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                visit(value, f'{path}[{i}]')

    visit(model_cfg, '')
    return removed
