"""Keypoint Triplets training-side costs: ours vs mmdet's CornerNet pieces doing the same job.

* targets: ``TripletCodec.encode`` (corners and centers, batched, no loop over objects)
  vs mmdet's ``CornerHead.get_targets(with_corner_emb=True)`` (corners only, loops over
  images and objects in Python), for ``--batch-size`` images of ``--num-objects`` boxes on
  a 128 x 128 map (511 input);
* embedding loss: ``PullPushLoss`` (masks over the whole batch) vs mmdet's
  ``AssociativeEmbeddingLoss`` (loops over images and objects), forward + backward.

Prints medians and ours / mmdet ratios (below 1: ours is faster).

    python benchmarks/bench_triplet.py [--batch-size 8] [--num-objects 30] [--repeat 10]
"""
import argparse
import os.path as osp
import sys

import torch
from mmdet.models.dense_heads import CornerHead
from mmdet.models.losses import AssociativeEmbeddingLoss
from mmengine.structures import InstanceData

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from mmcenternet.models.losses import PullPushLoss  # noqa: E402
from mmcenternet.models.task_modules import TripletCodec  # noqa: E402
from mmcenternet.utils.benchmark import time_cases  # noqa: E402

INPUT, FEAT, CLASSES = 511, 128, 80


def random_gt(batch: int, num: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    boxes, labels = [], []
    for _ in range(batch):
        xy = torch.rand(num, 2, generator=gen) * INPUT * 0.7
        wh = torch.rand(num, 2, generator=gen) * INPUT * 0.3 + 4
        boxes.append(torch.cat([xy, (xy + wh).clamp(max=INPUT - 1)], 1))
        labels.append(torch.randint(0, CLASSES, (num, ), generator=gen))
    return boxes, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--num-objects', type=int, default=30)
    parser.add_argument('--repeat', type=int, default=10)
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    boxes, labels = random_gt(args.batch_size, args.num_objects)
    gts = [InstanceData(bboxes=b, labels=lb) for b, lb in zip(boxes, labels)]
    metas = [dict(batch_input_shape=(INPUT, INPUT), img_shape=(INPUT, INPUT))] * len(gts)
    codec = TripletCodec(num_classes=CLASSES)
    corner_head = CornerHead(num_classes=CLASSES, in_channels=8, num_feat_levels=1)
    feat_shape = (args.batch_size, CLASSES, FEAT, FEAT)
    timings = time_cases({
        'targets ours (corners + centers)':
        lambda: codec.encode(gts, (FEAT, FEAT), metas),
        'targets mmdet CornerHead (corners)':
        lambda: corner_head.get_targets(boxes, labels, feat_shape, (INPUT, INPUT, 3),
                                        with_corner_emb=True),
    }, repeat=args.repeat)

    targets = codec.encode(gts, (FEAT, FEAT), metas)
    mask = targets['mask']
    tl_map = torch.randn(args.batch_size, 1, FEAT, FEAT, requires_grad=True)
    br_map = torch.randn(args.batch_size, 1, FEAT, FEAT, requires_grad=True)
    match = corner_head.get_targets(boxes, labels, feat_shape, (INPUT, INPUT, 3),
                                    with_corner_emb=True)['corner_embedding']
    ours_loss, mmdet_loss = PullPushLoss(), AssociativeEmbeddingLoss(0.1, 0.1)

    def ours():
        flat_tl, flat_br = tl_map.view(args.batch_size, -1), br_map.view(args.batch_size, -1)
        pull, push = ours_loss(flat_tl.gather(1, targets['tl_indices']),
                               flat_br.gather(1, targets['br_indices']), mask)
        (pull + push).backward()

    def mmdet():
        pull, push = mmdet_loss(tl_map, br_map, match)
        (pull + push).backward()

    timings.update(time_cases({'pull/push ours': ours, 'pull/push mmdet': mmdet},
                              repeat=args.repeat))
    for timing in timings.values():
        print(timing.row())
    for what in ('targets', 'pull/push'):
        mine, theirs = [t for name, t in timings.items() if name.startswith(what)]
        print(f'{what}: ours / mmdet = {mine.median / theirs.median:.3f}')


if __name__ == '__main__':
    main()
