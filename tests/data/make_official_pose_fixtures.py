"""Regenerates ``official_pose.npz``: multi-person pose targets, losses and decoded people
computed by the official CenterNet code (github.com/xingyizhou/CenterNet, commit 4c50fd3),
for tests/test_models/test_official_pose_fidelity.py.

It imports the official functions from a checkout (nothing of it is kept in this repo):

    python tests/data/make_official_pose_fixtures.py --official-src /path/to/CenterNet/src/lib

- Targets: the target code of the official ``MultiPoseDataset.__getitem__`` (boxes and
  joints given directly in output-map pixels, the step after its affine transform; the
  rotation branch, off by default, left out; map bounds generalised to non-square maps as
  tests/data/make_official_fixtures.py does), with the official ``gaussian_radius``,
  ``draw_umich_gaussian`` and ``draw_dense_reg``; plain and ``--dense_hp``.
- Losses: the official ``MultiPoseLoss`` terms (``FocalLoss`` on ``_sigmoid`` outputs for
  ``hm`` and ``hm_hp``, ``RegWeightedL1Loss`` for ``hps``, ``RegL1Loss`` for ``wh``,
  ``reg`` and ``hp_offset``; the dense ``hps`` term as in ``trains/multi_pose.py``).
- Detections: ``models.decode.multi_pose_decode`` (with and without ``hm_hp`` /
  ``hp_offset`` / ``reg``), after the flip merge of ``detectors/multi_pose.py`` (``flip_tensor``,
  ``flip_lr_off``, ``flip_lr`` with ``COCOHP.flip_idx``), and
  ``utils.post_process.multi_pose_post_process`` back to the original image
  (``--keep_res`` test geometry).

Only the official outputs are stored; the inputs are drawn from ``np.random.RandomState``
(a stream NumPy keeps stable) by the functions below, which the tests call again.
"""
import argparse
import math
import os.path as osp
import sys
from typing import Dict, List, Tuple

import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
NUM_CLASSES = 2
NUM_JOINTS = 17
MAX_OBJS = 32
TARGET_SHAPES = ((32, 32), (24, 40))  # (H, W) of the output map
# Decoding: (original image h, w); the --keep_res input pads to 32, the output is / 4.
DECODE_IMAGES = ((170, 190), (130, 250))
TOPK = 100


# ----------------------------------------------------------------------------- inputs
def make_people(seed: int, out_h: int, out_w: int, num: int) -> Tuple[np.ndarray, ...]:
    """People in output pixels: boxes ``(n, 4)``, labels ``(n,)``, joints ``(n, 17, 3)``.

    Varied sizes; joints inside and outside their box and the map, visibility 0 / 1 / 2;
    one person without annotated joints (a COCO crowd region), one box fully outside the
    map, an exact duplicate and a same-size box 2 px beside another.
    """
    rng = np.random.RandomState(seed)
    cx = rng.uniform(-3, out_w + 3, num)
    cy = rng.uniform(-3, out_h + 3, num)
    w = np.exp(rng.uniform(np.log(1.0), np.log(out_w * 0.7), num))
    h = w * np.exp(rng.uniform(-0.2, 1.0, num))
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1).astype(np.float32)
    joints = np.zeros((num, NUM_JOINTS, 3), np.float32)
    joints[:, :, 0] = cx[:, None] + rng.uniform(-0.7, 0.7, (num, NUM_JOINTS)) * w[:, None]
    joints[:, :, 1] = cy[:, None] + rng.uniform(-0.7, 0.7, (num, NUM_JOINTS)) * h[:, None]
    joints[:, :, 2] = rng.choice([0, 1, 2], (num, NUM_JOINTS), p=[0.25, 0.25, 0.5])
    labels = rng.randint(0, NUM_CLASSES, num)
    joints[2, :, 2] = 0  # no annotated joint
    boxes[3] = [-20, -20, -10, -10]  # fully outside: no target at all
    boxes[4], joints[4], labels[4] = boxes[5], joints[5], labels[5]  # duplicate
    # same size, centers 2 px apart: equal gaussians on the pixels between (dense ties)
    boxes[7] = [6.3, 5.2, 14.3, 17.2]
    boxes[6], labels[6] = boxes[7] + np.float32([2, 0, 2, 0]), labels[7]
    return boxes, labels, joints


def target_batch(shape_index: int) -> List[Tuple[np.ndarray, ...]]:
    """The three images of one target case (the last has more than ``MAX_OBJS`` people)."""
    out_h, out_w = TARGET_SHAPES[shape_index]
    return [make_people(100 * shape_index + i, out_h, out_w, n)
            for i, n in enumerate((9, 14, MAX_OBJS + 4))]


def loss_maps(shape_index: int) -> Dict[str, np.ndarray]:
    """Random raw head outputs ``(3, C, H, W)`` for the loss comparison."""
    out_h, out_w = TARGET_SHAPES[shape_index]
    rng = np.random.RandomState(1000 + shape_index)
    shape = (3, 0, out_h, out_w)

    def draw(channels: int, scale: float, shift: float) -> np.ndarray:
        size = shape[:1] + (channels, ) + shape[2:]
        return (rng.randn(*size) * scale + shift).astype(np.float32)
    return dict(hm=draw(NUM_CLASSES, 2, -2), wh=draw(2, 8, 10), reg=draw(2, 0.3, 0.5),
                hps=draw(2 * NUM_JOINTS, 4, 0), hm_hp=draw(NUM_JOINTS, 2, -2),
                hp_offset=draw(2, 0.3, 0.5))


def decode_geometry(index: int) -> Dict[str, np.ndarray]:
    """Official ``--keep_res`` test geometry of an original image: ``c``, ``s``, output size."""
    height, width = DECODE_IMAGES[index]
    inp_h, inp_w = (height | 31) + 1, (width | 31) + 1
    return dict(c=np.array([width // 2, height // 2], dtype=np.float32),
                s=np.array([inp_w, inp_h], dtype=np.float32),
                out_h=np.int64(inp_h // 4), out_w=np.int64(inp_w // 4))


def decode_maps(index: int) -> Dict[str, np.ndarray]:
    """Activated maps of an image and of its mirror ``(2, C, H, W)``, dense enough in
    joint peaks that some regressed joints snap and others do not."""
    geo = decode_geometry(index)
    rng = np.random.RandomState(2000 + index)
    size = (2, 0, int(geo['out_h']), int(geo['out_w']))

    def draw(channels: int, low: float, high: float) -> np.ndarray:
        return rng.uniform(low, high, size[:1] + (channels, ) + size[2:]).astype(np.float32)
    hm = 1 / (1 + np.exp(-(rng.randn(*size[:1], 1, *size[2:]) * 1.5 - 3)))
    hm_hp = 1 / (1 + np.exp(-(rng.randn(*size[:1], NUM_JOINTS, *size[2:]) * 1.5 - 3.5)))
    return dict(hm=hm.astype(np.float32), wh=draw(2, 2, 24), reg=draw(2, 0, 1),
                hps=(rng.randn(*size[:1], 2 * NUM_JOINTS, *size[2:]) * 4).astype(np.float32),
                hm_hp=hm_hp.astype(np.float32), hp_offset=draw(2, 0, 1))


# ----------------------------------------------------------------------------- official
def official_targets(people, out_h: int, out_w: int, image_mod,
                     dense: bool) -> Dict[str, np.ndarray]:
    """The official per-person loop of ``MultiPoseDataset.__getitem__`` (rot = 0)."""
    boxes, labels, joints = people
    hm = np.zeros((NUM_CLASSES, out_h, out_w), dtype=np.float32)
    hm_hp = np.zeros((NUM_JOINTS, out_h, out_w), dtype=np.float32)
    dense_kps = np.zeros((NUM_JOINTS, 2, out_h, out_w), dtype=np.float32)
    dense_kps_mask = np.zeros((NUM_JOINTS, out_h, out_w), dtype=np.float32)
    wh = np.zeros((MAX_OBJS, 2), dtype=np.float32)
    kps = np.zeros((MAX_OBJS, NUM_JOINTS * 2), dtype=np.float32)
    reg = np.zeros((MAX_OBJS, 2), dtype=np.float32)
    ind = np.zeros((MAX_OBJS), dtype=np.int64)
    reg_mask = np.zeros((MAX_OBJS), dtype=np.uint8)
    kps_mask = np.zeros((MAX_OBJS, NUM_JOINTS * 2), dtype=np.uint8)
    hp_offset = np.zeros((MAX_OBJS * NUM_JOINTS, 2), dtype=np.float32)
    hp_ind = np.zeros((MAX_OBJS * NUM_JOINTS), dtype=np.int64)
    hp_mask = np.zeros((MAX_OBJS * NUM_JOINTS), dtype=np.int64)
    draw_gaussian = image_mod.draw_umich_gaussian
    for k in range(min(len(boxes), MAX_OBJS)):
        bbox = boxes[k].copy()
        cls_id = int(labels[k])
        pts = joints[k].copy()
        bbox[[0, 2]] = np.clip(bbox[[0, 2]], 0, out_w - 1)
        bbox[[1, 3]] = np.clip(bbox[[1, 3]], 0, out_h - 1)
        h, w = bbox[3] - bbox[1], bbox[2] - bbox[0]
        if h > 0 and w > 0:
            radius = image_mod.gaussian_radius((math.ceil(h), math.ceil(w)))
            radius = max(0, int(radius))
            ct = np.array([(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2], dtype=np.float32)
            ct_int = ct.astype(np.int32)
            wh[k] = 1. * w, 1. * h
            ind[k] = ct_int[1] * out_w + ct_int[0]
            reg[k] = ct - ct_int
            reg_mask[k] = 1
            num_kpts = pts[:, 2].sum()
            if num_kpts == 0:
                hm[cls_id, ct_int[1], ct_int[0]] = 0.9999
                reg_mask[k] = 0
            hp_radius = image_mod.gaussian_radius((math.ceil(h), math.ceil(w)))
            hp_radius = max(0, int(hp_radius))
            for j in range(NUM_JOINTS):
                if pts[j, 2] > 0:
                    if 0 <= pts[j, 0] < out_w and 0 <= pts[j, 1] < out_h:
                        kps[k, j * 2: j * 2 + 2] = pts[j, :2] - ct_int
                        kps_mask[k, j * 2: j * 2 + 2] = 1
                        pt_int = pts[j, :2].astype(np.int32)
                        hp_offset[k * NUM_JOINTS + j] = pts[j, :2] - pt_int
                        hp_ind[k * NUM_JOINTS + j] = pt_int[1] * out_w + pt_int[0]
                        hp_mask[k * NUM_JOINTS + j] = 1
                        if dense:
                            image_mod.draw_dense_reg(dense_kps[j], hm[cls_id], ct_int,
                                                     pts[j, :2] - ct_int, radius,
                                                     is_offset=True)
                            draw_gaussian(dense_kps_mask[j], ct_int, radius)
                        draw_gaussian(hm_hp[j], pt_int, hp_radius)
            draw_gaussian(hm[cls_id], ct_int, radius)
    out = dict(hm=hm, wh=wh, reg=reg, ind=ind, reg_mask=reg_mask, hm_hp=hm_hp,
               hp_offset=hp_offset, hp_ind=hp_ind, hp_mask=hp_mask)
    if dense:
        dense_kps_mask = np.concatenate([dense_kps_mask.reshape(NUM_JOINTS, 1, out_h, out_w)] * 2,
                                        axis=1)
        out.update(dense_hps=dense_kps.reshape(NUM_JOINTS * 2, out_h, out_w),
                   dense_hps_mask=dense_kps_mask.reshape(NUM_JOINTS * 2, out_h, out_w))
    else:
        out.update(hps=kps, hps_mask=kps_mask)
    return out


def official_losses(maps: Dict[str, np.ndarray], targets: Dict[str, np.ndarray], dense: bool,
                    losses_mod, utils_mod) -> Dict[str, np.ndarray]:
    """The terms of the official ``MultiPoseLoss.forward`` (one stack, no weights)."""
    import torch
    t = {k: torch.from_numpy(v) for k, v in targets.items()}
    m = {k: torch.from_numpy(v.copy()) for k, v in maps.items()}
    focal = losses_mod.FocalLoss()
    reg_l1 = losses_mod.RegL1Loss()
    out = dict(hm=focal(utils_mod._sigmoid(m['hm'].clone()), t['hm']),
               hm_hp=focal(utils_mod._sigmoid(m['hm_hp'].clone()), t['hm_hp']),
               wh=reg_l1(m['wh'], t['reg_mask'], t['ind'], t['wh']),
               reg=reg_l1(m['reg'], t['reg_mask'], t['ind'], t['reg']),
               hp_offset=reg_l1(m['hp_offset'], t['hp_mask'], t['hp_ind'], t['hp_offset']))
    if dense:
        mask = t['dense_hps_mask']
        out['hps'] = torch.nn.L1Loss(reduction='sum')(m['hps'] * mask,
                                                      t['dense_hps'] * mask) / (mask.sum() + 1e-4)
    else:
        out['hps'] = losses_mod.RegWeightedL1Loss()(m['hps'], t['hps_mask'], t['ind'], t['hps'])
    return {k: v.numpy() for k, v in out.items()}


def official_decode(maps: Dict[str, np.ndarray], geo: Dict[str, np.ndarray], variant: str,
                    decode_mod, utils_mod, post_mod, flip_idx) -> Dict[str, np.ndarray]:
    """``multi_pose_decode`` (+ the flip merge of ``MultiPoseDetector.process``) and
    ``multi_pose_post_process``."""
    import torch
    m = {k: torch.from_numpy(v.copy()) for k, v in maps.items()}
    hm, wh, hps = m['hm'][0:1], m['wh'][0:1], m['hps'][0:1]
    reg, hm_hp, hp_offset = m['reg'][0:1], m['hm_hp'][0:1], m['hp_offset'][0:1]
    if variant == 'flip':
        hm = (m['hm'][0:1] + utils_mod.flip_tensor(m['hm'][1:2])) / 2
        wh = (m['wh'][0:1] + utils_mod.flip_tensor(m['wh'][1:2])) / 2
        hps = (m['hps'][0:1] + utils_mod.flip_lr_off(m['hps'][1:2], flip_idx)) / 2
        hm_hp = (m['hm_hp'][0:1] + utils_mod.flip_lr(m['hm_hp'][1:2], flip_idx)) / 2
    elif variant == 'no_hm_hp':
        hm_hp, hp_offset = None, None
    elif variant == 'no_offsets':
        reg, hp_offset = None, None
    dets = decode_mod.multi_pose_decode(hm, wh, hps, reg=reg, hm_hp=hm_hp,
                                        hp_offset=hp_offset, K=TOPK)
    dets = dets.numpy()
    post = post_mod.multi_pose_post_process(dets.copy(), [geo['c']], [geo['s']],
                                            int(geo['out_h']), int(geo['out_w']))
    post = np.array(post[0][1], dtype=np.float32)
    return dict(dets=dets[0], post=post)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--official-src', required=True, help='CenterNet/src/lib')
    parser.add_argument('--out', default=osp.join(HERE, 'official_pose.npz'))
    args = parser.parse_args()
    sys.path.insert(0, args.official_src)
    import utils.image as image_mod  # noqa: E402  (official)
    import models.decode as decode_mod  # noqa: E402  (official)
    import models.losses as losses_mod  # noqa: E402  (official)
    import models.utils as utils_mod  # noqa: E402  (official)
    import utils.post_process as post_mod  # noqa: E402  (official)
    from datasets.dataset.coco_hp import COCOHP  # noqa: E402  (official)

    data = {}
    for s, (out_h, out_w) in enumerate(TARGET_SHAPES):
        batch = target_batch(s)
        for dense in (False, True):
            tag = f's{s}_{"dense" if dense else "sparse"}'
            per_img = [official_targets(p, out_h, out_w, image_mod, dense) for p in batch]
            targets = {k: np.stack([t[k] for t in per_img]) for k in per_img[0]}
            for key, value in targets.items():
                data[f'{tag}_{key}'] = value
            losses = official_losses(loss_maps(s), targets, dense, losses_mod, utils_mod)
            for key, value in losses.items():
                data[f'{tag}_loss_{key}'] = value
    stats = []
    for d in range(len(DECODE_IMAGES)):
        for variant in ('plain', 'flip', 'no_hm_hp', 'no_offsets'):
            out = official_decode(decode_maps(d), decode_geometry(d), variant, decode_mod,
                                  utils_mod, post_mod, COCOHP.flip_idx)
            data[f'd{d}_{variant}_dets'] = out['dets']
            data[f'd{d}_{variant}_post'] = out['post']
            stats.append(f'd{d}_{variant}: {out["dets"].shape[0]} people')
    np.savez_compressed(args.out, **data)
    print('\n'.join(stats))
    print(f'wrote {args.out} ({len(data)} arrays)')


if __name__ == '__main__':
    main()
