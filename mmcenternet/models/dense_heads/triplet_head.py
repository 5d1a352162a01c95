"""Head of Keypoint Triplets (Duan et al., "CenterNet: Keypoint Triplets for Object
Detection"): corner pairs with associative embeddings, plus a center keypoint."""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

from mmcv.ops import soft_nms
from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
from mmdet.utils import InstanceList, OptInstanceList
from mmengine.structures import InstanceData
from torch import Tensor, nn

from mmcenternet.registry import MODELS
from ..layers.triplet_pools import CascadeCornerPool, CenterPool
from ..task_modules.codecs.triplet import KEYPOINTS
from ..task_modules.peaks import gather_at
from .centernet_head import CenterNetHead, build_branch, build_codec
#: The loss terms :meth:`TripletHead.loss_by_feat` returns.
LOSS_KEYS = tuple(f'loss_{k}_{t}' for k in KEYPOINTS for t in ('heatmap', 'offset')) + (
    'loss_pull', 'loss_push')
DEFAULT_TEST_CFG = dict(
    # Duan's per-class soft-NMS: gaussian (exp_soft_nms), sigma 0.5, scores below 0.001
    # dropped, areas with the +1 pixel convention (offset=1).
    soft_nms=dict(iou_threshold=0.5, sigma=0.5, min_score=0.001, method='gaussian',
                  offset=1),
    max_per_img=100)


@MODELS.register_module()
class TripletHead(BaseDenseHead):
    """Keypoint Triplets head: per stack, cascade corner pooling for the top-left and
    bottom-right corners and center pooling for the center, then a 3x3 conv + ReLU +
    1x1 conv per output (as Duan's ``kp.py``): corner heatmaps, embeddings and offsets,
    center heatmap and offsets.

    The codec (``TripletCodec``) names the branches (``{kp}_*`` reads the pooled feature
    of keypoint ``kp``) and their channels.

    Training (:meth:`loss_by_feat`): the codec's targets; per stack, the focal
    loss of each heatmap (``CenterNetFocalLoss``, Duan's ``_neg_loss``), the pull/push
    embedding loss (``PullPushLoss``, 0.1 / 0.1) and a smooth-L1 loss of each keypoint's
    offsets divided by the number of objects (Duan's ``_regr_loss``; mmdet's
    ``SmoothL1Loss`` with that ``avg_factor``); each term is averaged over the stacks, so
    their sum is Duan's ``AELoss``.

    Testing: the codec's candidates of the last stack -> (back to the image)
    -> central-region rescoring -> per-class soft-NMS -> the best ``max_per_img``.

    Args:
        codec: The task, ``dict(type='TripletCodec', num_classes=...)`` (``TASK_UTILS``).
        in_channels: Channels of each backbone stack's output (Duan's ``cnv_dim`` 256).
        feat_channels: Hidden channels of each output branch (Duan's ``curr_dim`` 256).
        pool_channels: Channels inside the pooling modules (Duan 128).
        num_stacks: Stacks the head runs on (2 for Hourglass-104, 1 for -52).
        loss_heatmap / loss_embedding / loss_offset: Loss configs.
        norm_cfg: Norm layers of the pooling modules.
        test_cfg: ``soft_nms`` (kwargs of mmcv ``soft_nms``, applied per class; None to
            skip) and ``max_per_img`` (100).
        num_classes / encoder / decoder: Removed (the codec's): an error naming ``codec=``.
    """

    loss_keys = LOSS_KEYS

    def __init__(self, codec: dict = dict(type='TripletCodec', num_classes=80),
                 in_channels: int = 256, feat_channels: int = 256,
                 pool_channels: int = 128, num_stacks: int = 2,
                 loss_heatmap: dict = dict(type='CenterNetFocalLoss', loss_weight=1.0),
                 loss_embedding: dict = dict(type='PullPushLoss', pull_weight=0.1,
                                             push_weight=0.1),
                 loss_offset: dict = dict(type='mmdet.SmoothL1Loss', beta=1.0,
                                          loss_weight=1.0),
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None, num_classes: Optional[int] = None,
                 encoder: Optional[dict] = None, decoder: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.codec = build_codec('TripletHead', codec, num_classes=num_classes,
                                 encoder=encoder, decoder=decoder)
        self.num_classes = self.codec.num_classes
        self.num_stacks = num_stacks
        pools = dict(
            tl=lambda: CascadeCornerPool(in_channels, 'top_left', pool_channels,
                                         norm_cfg=norm_cfg),
            br=lambda: CascadeCornerPool(in_channels, 'bottom_right', pool_channels,
                                         norm_cfg=norm_cfg),
            ct=lambda: CenterPool(in_channels, pool_channels, norm_cfg=norm_cfg))
        self.pools = nn.ModuleDict({key: nn.ModuleList([make() for _ in range(num_stacks)])
                                    for key, make in pools.items()})
        self.branches = nn.ModuleDict({
            name: nn.ModuleList([build_branch(in_channels, feat_channels, out)
                                 for _ in range(num_stacks)])
            for name, out in self.codec.branch_channels.items()
        })
        self.loss_heatmap = MODELS.build(loss_heatmap)
        self.loss_embedding = MODELS.build(loss_embedding)
        self.loss_offset = MODELS.build(loss_offset)
        self.train_cfg = train_cfg
        self.test_cfg = copy.deepcopy(DEFAULT_TEST_CFG)
        self.test_cfg.update(test_cfg or {})

    def init_weights(self) -> None:
        """Default PyTorch initialisation, heatmap biases -2.19 (as Duan's ``kp``)."""
        super().init_weights()
        for key in KEYPOINTS:
            for branch in self.branches[f'{key}_heatmap']:
                nn.init.constant_(branch[-1].bias, -2.19)

    def forward(self, feats: Tuple[Tensor, ...]) -> List[Dict[str, Tensor]]:
        """Runs the poolings and branches on the last ``num_stacks`` feature maps.

        Returns:
            One dict ``{branch name: raw map (B, C_b, H, W)}`` per stack.
        """
        outs = []
        for i, feat in enumerate(feats[-self.num_stacks:]):
            pooled = {key: pools[i](feat) for key, pools in self.pools.items()}
            outs.append({name: stacks[i](pooled[name.split('_')[0]])
                         for name, stacks in self.branches.items()})
        return outs

    # ------------------------------------------------------------------ training
    # forward + ``loss_by_feat`` / ``predict_by_feat`` from the data samples, as
    # CenterNetHead (they only call the methods below)
    loss = CenterNetHead.loss
    predict = CenterNetHead.predict

    def loss_by_feat(self, stack_outs: Sequence[Dict[str, Tensor]],
                     batch_gt_instances: InstanceList, batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> Dict[str, Tensor]:
        """Encodes the gt once; every loss term is summed over the stacks / num_stacks."""
        feat_shape = tuple(stack_outs[0]['tl_heatmap'].shape[-2:])
        targets = self.codec.encode(batch_gt_instances, feat_shape,
                                    batch_img_metas=batch_img_metas)
        mask = targets['mask']
        offset_weight = mask[..., None].expand(-1, -1, 2)
        num_objs = mask.sum() + 1e-4  # Duan's _regr_loss normaliser
        losses: Dict[str, Tensor] = {}

        def add(key: str, value: Tensor) -> None:
            losses[key] = losses.get(key, 0) + value / len(stack_outs)

        for outs in stack_outs:
            for kp in KEYPOINTS:
                add(f'loss_{kp}_heatmap',
                    self.loss_heatmap(outs[f'{kp}_heatmap'], targets[f'{kp}_heatmap']))
                pred = gather_at(outs[f'{kp}_offset'], targets[f'{kp}_indices'])
                add(f'loss_{kp}_offset',
                    self.loss_offset(pred, targets[f'{kp}_offset'], offset_weight,
                                     avg_factor=num_objs))
            pull, push = self.loss_embedding(
                gather_at(outs['tl_embedding'], targets['tl_indices'])[..., 0],
                gather_at(outs['br_embedding'], targets['br_indices'])[..., 0], mask)
            add('loss_pull', pull)
            add('loss_push', push)
        return losses

    # ------------------------------------------------------------------ testing
    def predict_by_feat(self, stack_outs: Sequence[Dict[str, Tensor]],
                        batch_img_metas: Optional[List[dict]] = None,
                        rescale: bool = False) -> InstanceList:
        """Decodes the last stack's maps into detections."""
        return self.decode_maps(self.activate(stack_outs[-1]), batch_img_metas, rescale)

    def activate(self, outs: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """The codec's ``activations``: sigmoid on the heatmaps; embeddings and offsets are
        used raw."""
        return self.codec.activate(outs)

    def decode_maps(self, maps: Dict[str, Tensor], batch_img_metas: List[dict],
                    rescale: bool) -> InstanceList:
        """Activated maps (possibly with a mirrored view, see ``TripletCodec.flip_merge``)
        -> one ``InstanceData`` (``bboxes``, ``scores``, ``labels``) per image."""
        return self.finish(self.candidates(maps, batch_img_metas, rescale))

    def candidates(self, maps: Dict[str, Tensor], batch_img_metas: List[dict],
                   rescale: bool) -> Dict[str, Tensor]:
        """The codec's candidates, mapped back to the original images when ``rescale``."""
        dets = self.codec.decode_maps(maps, batch_img_metas)
        if rescale:
            dets = self.codec.to_original(dets, batch_img_metas)
        return dets

    def finish(self, dets: Dict[str, Tensor]) -> InstanceList:
        """Central-region rescoring, then per image: drop rejected candidates, per-class
        soft-NMS, the ``max_per_img`` best."""
        scores = self.codec.rescore(dets)
        results = []
        for i in range(scores.shape[0]):
            keep = scores[i] > -1
            results.append(self.suppress(InstanceData(
                bboxes=dets['bboxes'][i][keep], scores=scores[i][keep],
                labels=dets['labels'][i][keep])))
        return results

    def suppress(self, results: InstanceData) -> InstanceData:
        """Per-class soft-NMS (``test_cfg.soft_nms``) and the ``max_per_img`` best.

        Runs mmcv's ``soft_nms`` on each class's boxes (a loop over classes, not objects):
        mmdet's ``batched_nms`` shifts classes apart by large offsets, which costs float32
        precision in the IoUs and so in the decayed scores.
        """
        cfg = self.test_cfg.get('soft_nms')
        if cfg and len(results) > 0:
            parts = []
            for label in results.labels.unique():
                part = results[results.labels == label]
                dets, keep = soft_nms(part.bboxes.contiguous(), part.scores.contiguous(),
                                      **cfg)
                part = part[keep]
                part.scores = dets[:, 4]
                parts.append(part)
            results = InstanceData.cat(parts)
        order = results.scores.argsort(descending=True)[:self.test_cfg['max_per_img']]
        return results[order]
