"""The one CenterNet head: a dict of named branches over a stride-4 feature map.

Official CenterNet describes a task as a dict of heads (``{'hm': C, 'wh': 2, 'reg': 2}``);
here the task is one codec from ``TASK_UTILS`` (``codec=``, e.g. ``CTDetCodec``) that names
the branches and their channels, turns gt into per-branch targets and branch maps into
detections; the head adds a loss per branch. Pose or 3D swap the codec; the head stays the
same.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

from mmcv.ops import batched_nms
from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
from mmdet.structures import SampleList
from mmdet.utils import InstanceList, OptInstanceList
from mmengine.structures import InstanceData
from torch import Tensor, nn

from mmcenternet.registry import MODELS, TASK_UTILS
from mmcenternet.errors import ConfigError
from ..task_modules.codecs import ACTIVATIONS, BaseCodec
from ..task_modules.peaks import gather_at

DEFAULT_BRANCHES = dict(
    heatmap=dict(bias_init=-2.19, loss=dict(type='CenterNetFocalLoss', loss_weight=1.0)),
    wh=dict(loss=dict(type='RegL1Loss', loss_weight=0.1)),
    offset=dict(loss=dict(type='RegL1Loss', loss_weight=1.0)))

# what a branch spec may hold (a misspelt key would otherwise be ignored silently); its
# channels and output transform are the codec's (out_channels, if given, must agree)
BRANCH_KEYS = ('out_channels', 'loss', 'bias_init', 'activate_before_loss')


def build_branch(in_channels: int, feat_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 conv + ReLU + 1x1 conv (official ``head_conv > 0``); a lone 1x1 conv otherwise."""
    if feat_channels <= 0:
        return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1))
    return nn.Sequential(
        nn.Conv2d(in_channels, feat_channels, 3, padding=1, bias=True), nn.ReLU(inplace=True),
        nn.Conv2d(feat_channels, out_channels, 1, bias=True))


def build_codec(head: str, codec: dict, **removed) -> BaseCodec:
    """The head's codec (``TASK_UTILS``); a clear error for the keys it replaced."""
    given = [k + '=' for k, v in removed.items() if v is not None]
    if given:
        raise ConfigError(
            f'{head}: {" and ".join(given)} {"were" if len(given) > 1 else "was"} replaced by '
            f"codec=, one object per task configured once (e.g. model.bbox_head.codec=dict("
            f"type='{codec.get('type', 'CTDetCodec')}', num_classes=...)), which also sets "
            "the branches' channels (docs/new_variant.md)")
    return TASK_UTILS.build(codec)


def branch_specs(head: str, branches: dict, codec: BaseCodec) -> Dict[str, dict]:
    """Each of the codec's branches with its spec (``BRANCH_KEYS``) and ``out_channels``
    from the codec, in the codec's order; a one-line error for anything that does not fit."""
    channels = codec.branch_channels
    name = type(codec).__name__
    for branch, spec in branches.items():
        if branch not in channels:
            raise ConfigError(f'{head}.branches.{branch}: {name} has no such branch (its '
                              f'branches: {list(channels)})')
        unknown = sorted(set(spec) - set(BRANCH_KEYS))
        if unknown:
            raise ConfigError(f'{head}.branches.{branch} has unknown keys {unknown}; a branch '
                              f'takes {list(BRANCH_KEYS)} (its channels and activation are '
                              f"the codec's)")
        if spec.get('out_channels', channels[branch]) != channels[branch]:
            raise ConfigError(
                f'{head}.branches.{branch}.out_channels={spec["out_channels"]} disagrees with '
                f'{name}, which gives it {channels[branch]} (drop out_channels: the codec '
                'sets it)')
        if spec.get('activate_before_loss') and branch not in codec.activations:
            raise ConfigError(f'{head}.branches.{branch}.activate_before_loss: {name} has no '
                              f'activation for it (it has {codec.activations})')
    missing = [b for b in channels if b not in branches]
    if missing:
        raise ConfigError(f'{head}.branches has no spec for the {name} branches {missing} '
                          '(give each at least its loss; dict() for none)')
    return {b: dict(branches[b], out_channels=c) for b, c in channels.items()}


# Per-architecture initialisation of the branches, as the official networks do it:
#   resdcn (resnet_dcn.py)   every conv of a non-heatmap branch N(0, 0.001), bias 0
#   msra (msra_resnet.py)    only the final conv of a non-heatmap branch N(0, 0.001), bias 0
#   dla (pose_dla_dcn.py)    non-heatmap branches keep default weights, biases 0
#   hourglass (large_hourglass.py)  non-heatmap branches keep PyTorch's default init
# A branch with ``bias_init`` (the heatmap: -2.19) keeps default weights and gets that
# final bias in every scheme.
INIT_SCHEMES = ('resdcn', 'msra', 'dla', 'hourglass')


@MODELS.register_module()
class CenterNetHead(BaseDenseHead):
    """CenterNet head: one small conv branch per target, one set per feature stack.

    Args:
        in_channels: Channels of the input (stride-4) feature map.
        branches: ``{name: dict(loss=..., bias_init=None, activate_before_loss=False)}`` for
            every branch of the codec (``codec.branch_channels``, which gives the
            ``out_channels``; an ``out_channels`` given here must agree). A branch whose
            ``bias_init`` is set gets that final bias and default weights (the heatmap,
            -2.19 officially); the others are initialised by ``init_scheme``. A branch
            without ``loss`` gets none. The codec's ``activations`` (sigmoid on heatmaps)
            are applied to the raw maps before decoding and, with ``activate_before_loss``,
            before the loss too (the official 3D depth branch); heatmap losses take logits.
        feat_channels: Channels of the 3x3 conv of each branch (official ``head_conv``:
            64 for ResNet, 256 for DLA / Hourglass); 0 for a lone 1x1 conv.
        num_stacks: Feature maps (stacks) the head runs on (2 for Hourglass-104; the losses
            are averaged over stacks and the last stack predicts, as officially).
        codec: The task (``TASK_UTILS``), e.g. ``dict(type='CTDetCodec', num_classes=80)``.
        test_cfg: ``nms`` (optional dict for mmcv ``batched_nms``, off officially),
            ``score_thr`` (default 0: keep all top-K as officially).
        init_scheme: How the branches are initialised, as the official network of the
            architecture does it (``INIT_SCHEMES``: ``'resdcn'`` for ResNet-DCN, ``'msra'``
            for plain ResNet, ``'dla'`` for DLA-34, ``'hourglass'``).
        encoder / decoder: Removed (replaced by ``codec``): an error naming ``codec=``.
    """

    def __init__(self, in_channels: int, branches: Optional[dict] = None,
                 feat_channels: int = 64, num_stacks: int = 1,
                 codec: dict = dict(type='CTDetCodec', num_classes=80),
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None, init_scheme: str = 'resdcn',
                 encoder: Optional[dict] = None, decoder: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if init_scheme not in INIT_SCHEMES:
            raise ValueError(f'CenterNetHead.init_scheme must be one of {INIT_SCHEMES}, '
                             f'got {init_scheme!r}')
        self.init_scheme = init_scheme
        self.codec = build_codec('CenterNetHead', codec, encoder=encoder, decoder=decoder)
        self.branch_cfgs = branch_specs(
            'CenterNetHead', copy.deepcopy(branches if branches is not None else
                                           DEFAULT_BRANCHES), self.codec)
        self.num_classes = self.codec.num_classes
        self.num_stacks = num_stacks
        self.branches = nn.ModuleDict({
            name: nn.ModuleList([
                build_branch(in_channels, feat_channels, cfg['out_channels'])
                for _ in range(num_stacks)
            ])
            for name, cfg in self.branch_cfgs.items()
        })
        self.losses = nn.ModuleDict({
            name: MODELS.build(cfg['loss'])
            for name, cfg in self.branch_cfgs.items() if cfg.get('loss')
        })
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
        return [{name: stacks[i](feat) for name, stacks in self.branches.items()}
                for i, feat in enumerate(feats[-self.num_stacks:])]

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
        targets = self.codec.encode(batch_gt_instances, tuple(feat_shape),
                                    batch_img_metas=batch_img_metas)
        losses = {}
        for outs in stack_outs:
            for name, loss_fn in self.losses.items():
                pred = outs[name]
                if self.branch_cfgs[name].get('activate_before_loss'):
                    pred = ACTIVATIONS[self.codec.activations[name]](pred)
                value = self.branch_loss(name, loss_fn, pred, targets)
                key = f'loss_{name}'
                losses[key] = losses.get(key, 0) + value / len(stack_outs)
        return losses

    @staticmethod
    def branch_loss(name: str, loss_fn: nn.Module, pred: Tensor,
                    targets: Dict[str, Tensor]) -> Tensor:
        """Dense targets (4-D) are compared map to map; sparse ones (3-D) at the gt slots.

        A dense target is weighted by ``<name>_mask`` (same shape) when the codec gives
        one (e.g. the official dense keypoint offsets). A sparse target is gathered at
        ``<name>_indices`` when the codec gives them (e.g. per-joint slots), else at the
        object ``indices``; its mask is ``<name>_mask`` or ``mask``.
        """
        if name not in targets:
            raise KeyError(f'the codec gives no target for branch "{name}" '
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
        """Applies the codec's ``activations`` (sigmoid on heatmaps)."""
        return self.codec.activate(outs)

    def decode_maps(self, maps: Dict[str, Tensor], batch_img_metas: List[dict],
                    rescale: bool) -> InstanceList:
        """Activated branch maps -> one ``InstanceData`` per image (the codec's
        ``instance_keys``: ``bboxes``, ``scores``, ``labels`` and the task's extras)."""
        dets = self.codec.decode_maps(maps, batch_img_metas)
        return self.results_from_dets(dets, batch_img_metas, rescale)

    def results_from_dets(self, dets: Dict[str, Tensor], batch_img_metas: List[dict],
                          rescale: bool) -> InstanceList:
        """Decoded ``(B, K, ...)`` outputs in input pixels -> one ``InstanceData`` per image:
        back-mapping (``rescale``), the codec's ``instance_keys`` and :meth:`postprocess`.
        Also what the ONNX Runtime detector runs on an exported model's outputs."""
        if rescale:
            dets = self.codec.to_original(dets, batch_img_metas)
        keys = [k for k in self.codec.instance_keys if k in dets]
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
