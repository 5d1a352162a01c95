"""The one CenterNet head: a dict of named branches over a stride-4 feature map.

Official CenterNet describes a task as a dict of heads (``{'hm': C, 'wh': 2, 'reg': 2}``);
this head takes the same dict, with a loss per branch, and an encoder/decoder pair from
``TASK_UTILS`` that turns gt into per-branch targets and branch maps into detections. Pose
or 3D add branches and swap the encoder/decoder; the head stays the same.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmcv.ops import batched_nms
from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
from mmdet.structures import SampleList
from mmdet.utils import InstanceList, OptInstanceList
from mmengine.structures import InstanceData
from torch import Tensor, nn

from mmcenternet.registry import MODELS, TASK_UTILS
from ..task_modules.decoders import gather_at

DEFAULT_BRANCHES = dict(
    heatmap=dict(out_channels=80, bias_init=-2.19,
                 loss=dict(type='CenterNetFocalLoss', loss_weight=1.0)),
    wh=dict(out_channels=2, loss=dict(type='RegL1Loss', loss_weight=0.1)),
    offset=dict(out_channels=2, loss=dict(type='RegL1Loss', loss_weight=1.0)))


def build_branch(in_channels: int, feat_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 conv + ReLU + 1x1 conv (official ``head_conv > 0``); a lone 1x1 conv otherwise."""
    if feat_channels <= 0:
        return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1))
    return nn.Sequential(
        nn.Conv2d(in_channels, feat_channels, 3, padding=1, bias=True), nn.ReLU(inplace=True),
        nn.Conv2d(feat_channels, out_channels, 1, bias=True))


def coord_maps(feat: Tensor) -> Tensor:
    """Two channels, x and y of each cell normalised to [-1, 1] over the map (CoordConv,
    Liu et al. 2018), shaped ``(B, 2, H, W)`` like ``feat``."""
    b, _, h, w = feat.shape
    ys = torch.linspace(-1., 1., h, dtype=feat.dtype, device=feat.device)
    xs = torch.linspace(-1., 1., w, dtype=feat.dtype, device=feat.device)
    grid = torch.stack([xs.view(1, w).expand(h, w), ys.view(h, 1).expand(h, w)])
    return grid.unsqueeze(0).expand(b, 2, h, w)


# what a branch spec may hold (a misspelt key would otherwise be ignored silently)
BRANCH_KEYS = ('out_channels', 'loss', 'bias_init', 'activation', 'activate_before_loss',
               'coord')


def inverse_sigmoid_depth(x: Tensor) -> Tensor:
    """Official depth output transform: ``1 / (sigmoid(x) + 1e-6) - 1``."""
    return 1. / (x.sigmoid() + 1e-6) - 1.


# Per-architecture initialisation of the branches, as the official networks do it:
#   resdcn (resnet_dcn.py)   every conv of a non-heatmap branch N(0, 0.001), bias 0
#   msra (msra_resnet.py)    only the final conv of a non-heatmap branch N(0, 0.001), bias 0
#   dla (pose_dla_dcn.py)    non-heatmap branches keep default weights, biases 0
#   hourglass (large_hourglass.py)  non-heatmap branches keep PyTorch's default init
# A branch with ``bias_init`` (the heatmap: -2.19) keeps default weights and gets that
# final bias in every scheme.
INIT_SCHEMES = ('resdcn', 'msra', 'dla', 'hourglass')

# Output transforms a branch can name with ``activation``.
ACTIVATIONS = dict(sigmoid=torch.sigmoid, inverse_sigmoid_depth=inverse_sigmoid_depth)


@MODELS.register_module()
class CenterNetHead(BaseDenseHead):
    """CenterNet head: one small conv branch per target, one set per feature stack.

    Args:
        in_channels: Channels of the input (stride-4) feature map.
        branches: ``{name: dict(out_channels, loss=..., bias_init=None, activation=None,
            activate_before_loss=False)}``. A branch whose ``bias_init`` is set gets that
            final bias and default weights (the heatmap, -2.19 officially); the others get
            N(0, 0.001) weights and zero bias, as the official ``fill_fc_weights``. A branch
            without ``loss`` gets none. ``activation`` (a name in ``ACTIVATIONS``) is applied
            to the raw map before decoding (default: ``'sigmoid'`` for ``heatmap``, none for
            the others) and, with ``activate_before_loss``, before the loss too (the
            official 3D depth branch); heatmap losses take logits.
        feat_channels: Channels of the 3x3 conv of each branch (official ``head_conv``:
            64 for ResNet, 256 for DLA / Hourglass); 0 for a lone 1x1 conv.
        num_stacks: Feature maps (stacks) the head runs on (2 for Hourglass-104; the losses
            are averaged over stacks and the last stack predicts, as officially).
        encoder: Target encoder config (``TASK_UTILS``), e.g. ``CTDetEncoder``.
        decoder: Detection decoder config (``TASK_UTILS``), e.g. ``CTDetDecoder``.
        test_cfg: ``nms`` (optional dict for mmcv ``batched_nms``, off officially),
            ``score_thr`` (default 0: keep all top-K as officially).
        init_scheme: How the branches are initialised, as the official network of the
            architecture does it (``INIT_SCHEMES``: ``'resdcn'`` for ResNet-DCN, ``'msra'``
            for plain ResNet, ``'dla'`` for DLA-34, ``'hourglass'``).
    """

    def __init__(self, in_channels: int, branches: Optional[dict] = None,
                 feat_channels: int = 64, num_stacks: int = 1,
                 encoder: dict = dict(type='CTDetEncoder', num_classes=80),
                 decoder: dict = dict(type='CTDetDecoder'), train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None, init_cfg: Optional[dict] = None,
                 init_scheme: str = 'resdcn') -> None:
        super().__init__(init_cfg=init_cfg)
        if init_scheme not in INIT_SCHEMES:
            raise ValueError(f'CenterNetHead.init_scheme must be one of {INIT_SCHEMES}, '
                             f'got {init_scheme!r}')
        self.init_scheme = init_scheme
        self.branch_cfgs = copy.deepcopy(branches if branches is not None else DEFAULT_BRANCHES)
        if 'heatmap' not in self.branch_cfgs:
            raise ValueError('CenterNetHead.branches needs a "heatmap" branch, got '
                             f'{sorted(self.branch_cfgs)}')
        self.branch_cfgs['heatmap'].setdefault('activation', 'sigmoid')
        for name, cfg in self.branch_cfgs.items():
            unknown = sorted(set(cfg) - set(BRANCH_KEYS))
            if unknown:
                raise ValueError(f'CenterNetHead.branches.{name} has unknown keys {unknown}; '
                                 f'a branch takes {list(BRANCH_KEYS)}')
            if 'out_channels' not in cfg:
                raise ValueError(f'CenterNetHead.branches.{name} needs out_channels')
            act = cfg.get('activation')
            if act is not None and act not in ACTIVATIONS:
                raise ValueError(f'CenterNetHead.branches.{name}.activation must be one of '
                                 f'{sorted(ACTIVATIONS)} or None, got {act!r}')
        self.num_classes = self.branch_cfgs['heatmap']['out_channels']
        # branches that also see the cells' coordinates (``coord=True``)
        self.coord_branches = frozenset(
            name for name, cfg in self.branch_cfgs.items() if cfg.get('coord'))
        self.num_stacks = num_stacks
        self.branches = nn.ModuleDict({
            name: nn.ModuleList([
                build_branch(in_channels + (2 if name in self.coord_branches else 0),
                             feat_channels, cfg['out_channels'])
                for _ in range(num_stacks)
            ])
            for name, cfg in self.branch_cfgs.items()
        })
        self.losses = nn.ModuleDict({
            name: MODELS.build(cfg['loss'])
            for name, cfg in self.branch_cfgs.items() if cfg.get('loss')
        })
        self.encoder = TASK_UTILS.build(encoder)
        self.decoder = TASK_UTILS.build(decoder)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg or {}

    def init_weights(self) -> None:
        """Official initialisation of the branches (``init_scheme``, see ``INIT_SCHEMES``).

        "Default" weights are those PyTorch draws when a conv is built (uniform in
        ``+-1/sqrt(fan_in)``, what the official networks start from too).
        """
        super().init_weights()
        for name, stacks in self.branches.items():
            bias_init = self.branch_cfgs[name].get('bias_init')
            for branch in stacks:
                convs = [m for m in branch.modules() if isinstance(m, nn.Conv2d)]
                if bias_init is not None:
                    nn.init.constant_(convs[-1].bias, bias_init)
                elif self.init_scheme in ('resdcn', 'msra'):
                    for conv in (convs if self.init_scheme == 'resdcn' else convs[-1:]):
                        nn.init.normal_(conv.weight, std=0.001)
                        nn.init.constant_(conv.bias, 0)
                elif self.init_scheme == 'dla':
                    for conv in convs:
                        nn.init.constant_(conv.bias, 0)

    def forward(self, feats: Tuple[Tensor, ...]) -> List[Dict[str, Tensor]]:
        """Runs every branch on the last ``num_stacks`` feature maps.

        Returns:
            One dict ``{branch name: raw map (B, C_b, H, W)}`` per stack.
        """
        feats = feats[-self.num_stacks:]
        outs = []
        for i, feat in enumerate(feats):
            with_coord = (torch.cat([feat, coord_maps(feat)], 1)
                          if self.coord_branches else None)
            outs.append({name: stacks[i](with_coord if name in self.coord_branches else feat)
                         for name, stacks in self.branches.items()})
        return outs

    # ------------------------------------------------------------------ training
    def loss(self, x: Tuple[Tensor, ...], batch_data_samples: SampleList) -> dict:
        """Forward + loss from the data samples' ``gt_instances``."""
        gts = [s.gt_instances for s in batch_data_samples]
        metas = [s.metainfo for s in batch_data_samples]
        return self.loss_by_feat(self(x), gts, metas)

    def loss_by_feat(self, stack_outs: Sequence[Dict[str, Tensor]],
                     batch_gt_instances: InstanceList, batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> Dict[str, Tensor]:
        """Encodes the gt once and sums each branch's loss over the stacks / num_stacks."""
        feat_shape = stack_outs[0]['heatmap'].shape[-2:]
        targets = self.encoder.encode(batch_gt_instances, tuple(feat_shape),
                                      batch_img_metas=batch_img_metas)
        losses = {}
        for outs in stack_outs:
            for name, loss_fn in self.losses.items():
                pred = outs[name]
                if self.branch_cfgs[name].get('activate_before_loss'):
                    pred = ACTIVATIONS[self.branch_cfgs[name]['activation']](pred)
                value = self.branch_loss(name, loss_fn, pred, targets)
                key = f'loss_{name}'
                losses[key] = losses.get(key, 0) + value / len(stack_outs)
        return losses

    @staticmethod
    def branch_loss(name: str, loss_fn: nn.Module, pred: Tensor,
                    targets: Dict[str, Tensor]) -> Tensor:
        """Dense targets (4-D) are compared map to map; sparse ones (3-D) at the gt slots.

        A dense target is weighted by ``<name>_mask`` (same shape) when the encoder gives
        one (e.g. the official dense keypoint offsets). A sparse target is gathered at
        ``<name>_indices`` when the encoder gives them (e.g. per-joint slots), else at the
        object ``indices``; its mask is ``<name>_mask`` or ``mask``.
        """
        if name not in targets:
            raise KeyError(f'the encoder gives no target for branch "{name}" '
                           f'(it gives {sorted(targets)})')
        target = targets[name]
        if target.dim() == 4:
            dense_mask = targets.get(f'{name}_mask')
            if dense_mask is not None:
                return loss_fn(pred, target, dense_mask)
            return loss_fn(pred, target)
        mask = targets.get(f'{name}_mask', targets['mask'])
        indices = targets.get(f'{name}_indices', targets['indices'])
        return loss_fn(gather_at(pred, indices), target, mask)

    # ------------------------------------------------------------------ testing
    def predict(self, x: Tuple[Tensor, ...], batch_data_samples: SampleList,
                rescale: bool = False) -> InstanceList:
        """Forward + decode; returns one ``InstanceData`` per image."""
        metas = [s.metainfo for s in batch_data_samples]
        return self.predict_by_feat(self(x), batch_img_metas=metas, rescale=rescale)

    def predict_by_feat(self, stack_outs: Sequence[Dict[str, Tensor]],
                        batch_img_metas: Optional[List[dict]] = None,
                        rescale: bool = False) -> InstanceList:
        """Decodes the last stack's maps into detections."""
        return self.decode_maps(self.activate(stack_outs[-1]), batch_img_metas, rescale)

    def activate(self, outs: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Applies each branch's ``activation`` (sigmoid on heatmaps)."""
        outs = dict(outs)
        for name, value in outs.items():
            act = self.branch_cfgs.get(name, {}).get('activation')
            if act is not None:
                outs[name] = ACTIVATIONS[act](value)
        return outs

    def decode_maps(self, maps: Dict[str, Tensor], batch_img_metas: List[dict],
                    rescale: bool) -> InstanceList:
        """Activated branch maps -> one ``InstanceData`` per image (the decoder's
        ``instance_keys``: ``bboxes``, ``scores``, ``labels`` and the task's extras)."""
        dets = self.decoder.decode_maps(maps, batch_img_metas)
        return self.results_from_dets(dets, batch_img_metas, rescale)

    def results_from_dets(self, dets: Dict[str, Tensor], batch_img_metas: List[dict],
                          rescale: bool) -> InstanceList:
        """Decoded ``(B, K, ...)`` outputs in input pixels -> one ``InstanceData`` per image:
        back-mapping (``rescale``), the decoder's ``instance_keys`` and :meth:`postprocess`.
        Also what the ONNX Runtime detector runs on an exported model's outputs."""
        if rescale:
            dets = self.decoder.to_original(dets, batch_img_metas)
        keys = [k for k in self.decoder.instance_keys if k in dets]
        num_imgs = dets['scores'].shape[0]
        return [self.postprocess(InstanceData(**{k: dets[k][i] for k in keys}))
                for i in range(num_imgs)]

    def postprocess(self, results: InstanceData) -> InstanceData:
        """Optional score threshold and NMS (both off in the official recipe)."""
        score_thr = self.test_cfg.get('score_thr', 0)
        if score_thr > 0:
            results = results[results.scores > score_thr]
        nms_cfg = self.test_cfg.get('nms')
        if nms_cfg and len(results) > 0:
            dets, keep = batched_nms(results.bboxes, results.scores, results.labels, nms_cfg)
            results = results[keep]
            results.scores = dets[:, -1]
        return results
