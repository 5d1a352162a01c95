"""Regenerates ``official_ctdet.npz``: targets, losses and detections computed by the
official CenterNet code (github.com/xingyizhou/CenterNet, commit 4c50fd3), for the fidelity
tests in tests/test_models/test_official_fidelity.py.

It imports the official functions from a checkout (nothing of it is kept in this repo):

    python tests/data/make_official_fixtures.py --official-src /path/to/CenterNet/src/lib

Targets follow the official ``CTDetDataset.__getitem__`` loop (boxes given directly in
output-map pixels, the step after its affine transform) with the official
``gaussian_radius`` / ``draw_umich_gaussian``; losses use the official ``FocalLoss`` (on
``_sigmoid`` outputs) and ``RegL1Loss``; detections the official ``ctdet_decode``.
"""
import argparse
import math
import os.path as osp
import sys

import numpy as np
import torch

HERE = osp.dirname(osp.abspath(__file__))
NUM_CLASSES = 3
MAX_OBJS = 128
OUT_SHAPES = ((64, 64), (48, 80))  # (H, W) of the output map


def make_boxes(rng: np.random.RandomState, out_h: int, out_w: int) -> tuple:
    """Boxes in output pixels: varied sizes, overlaps, some partly or fully outside."""
    n = rng.randint(6, 14)
    cx = rng.uniform(-4, out_w + 4, n)
    cy = rng.uniform(-4, out_h + 4, n)
    w = np.exp(rng.uniform(np.log(0.5), np.log(out_w * 0.8), n))
    h = w * np.exp(rng.uniform(-0.7, 0.7, n))
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1).astype(np.float32)
    boxes[0] = boxes[1]  # an exact duplicate
    labels = rng.randint(0, NUM_CLASSES, n)
    return boxes, labels


def official_targets(boxes, labels, out_h, out_w, image_mod):
    """The official per-object loop, with its own radius and drawing functions."""
    hm = np.zeros((NUM_CLASSES, out_h, out_w), dtype=np.float32)
    wh = np.zeros((MAX_OBJS, 2), dtype=np.float32)
    reg = np.zeros((MAX_OBJS, 2), dtype=np.float32)
    ind = np.zeros((MAX_OBJS), dtype=np.int64)
    reg_mask = np.zeros((MAX_OBJS), dtype=np.uint8)
    for k in range(min(len(boxes), MAX_OBJS)):
        bbox = boxes[k].copy()
        bbox[[0, 2]] = np.clip(bbox[[0, 2]], 0, out_w - 1)
        bbox[[1, 3]] = np.clip(bbox[[1, 3]], 0, out_h - 1)
        h, w = bbox[3] - bbox[1], bbox[2] - bbox[0]
        if h > 0 and w > 0:
            radius = image_mod.gaussian_radius((math.ceil(h), math.ceil(w)))
            radius = max(0, int(radius))
            ct = np.array([(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2], dtype=np.float32)
            ct_int = ct.astype(np.int32)
            image_mod.draw_umich_gaussian(hm[labels[k]], ct_int, radius)
            wh[k] = 1. * w, 1. * h
            ind[k] = ct_int[1] * out_w + ct_int[0]
            reg[k] = ct - ct_int
            reg_mask[k] = 1
    return hm, wh, reg, ind, reg_mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--official-src', required=True, help='CenterNet/src/lib')
    parser.add_argument('--out', default=osp.join(HERE, 'official_ctdet.npz'))
    args = parser.parse_args()
    sys.path.insert(0, args.official_src)
    import utils.image as image_mod  # noqa: E402  (official)
    from models.decode import ctdet_decode  # noqa: E402  (official)
    from models.losses import FocalLoss, RegL1Loss  # noqa: E402  (official)
    from models.utils import _sigmoid  # noqa: E402  (official)

    rng = np.random.RandomState(2019)
    torch.manual_seed(2019)
    data = {}
    for s, (out_h, out_w) in enumerate(OUT_SHAPES):
        batch = [make_boxes(rng, out_h, out_w) for _ in range(3)]
        targets = [official_targets(b, lb, out_h, out_w, image_mod) for b, lb in batch]
        hm, wh, reg, ind, mask = (np.stack(t) for t in zip(*targets))
        for i, (b, lb) in enumerate(batch):
            data[f's{s}_boxes{i}'] = b
            data[f's{s}_labels{i}'] = lb
        data.update({f's{s}_hm': hm, f's{s}_wh': wh, f's{s}_reg': reg, f's{s}_ind': ind,
                     f's{s}_mask': mask})
        # losses on random predictions
        logits = torch.randn(3, NUM_CLASSES, out_h, out_w) * 2 - 2
        wh_pred = torch.rand(3, 2, out_h, out_w) * 30
        reg_pred = torch.rand(3, 2, out_h, out_w)
        data[f's{s}_logits'] = logits.numpy()
        data[f's{s}_wh_pred'] = wh_pred.numpy()
        data[f's{s}_reg_pred'] = reg_pred.numpy()
        hm_t, mask_t, ind_t = torch.from_numpy(hm), torch.from_numpy(mask), torch.from_numpy(ind)
        data[f's{s}_loss_hm'] = FocalLoss()(_sigmoid(logits.clone()), hm_t).numpy()
        data[f's{s}_loss_wh'] = RegL1Loss()(wh_pred, mask_t, ind_t, torch.from_numpy(wh)).numpy()
        data[f's{s}_loss_reg'] = RegL1Loss()(reg_pred, mask_t, ind_t,
                                             torch.from_numpy(reg)).numpy()
        # decoding (K = 100) of sigmoid maps
        heat = torch.sigmoid(logits)
        data[f's{s}_dets'] = ctdet_decode(heat, wh_pred, reg=reg_pred, K=100).numpy()
    np.savez_compressed(args.out, **data)
    print(f'wrote {args.out} ({len(data)} arrays)')


if __name__ == '__main__':
    main()
