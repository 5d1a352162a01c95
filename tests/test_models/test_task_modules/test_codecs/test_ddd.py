"""DDDCodec: decode(encode(gt)) recovers the 3D boxes; target rules; branches."""
import math

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmcenternet.models.losses import BinRotLoss
from mmcenternet.models.task_modules import DDDCodec, alpha_to_bins, bins_to_alpha
from mmcenternet.structures.camera3d import (box3d_corners, project, rot_y_to_alpha, unproject,
                                        wrap_angle)

P2 = torch.tensor([[721.5377, 0., 609.5593, 44.85728], [0., 721.5377, 172.854, 0.2163791],
                   [0., 0., 1., 0.002745884]], dtype=torch.float64)
STRIDE = 4


def _scene(seed: int, num: int = 6):
    """Objects whose 2D box is centred on the projected 3D center (as the decoder assumes)."""
    rng = np.random.RandomState(seed)
    z = torch.tensor(rng.uniform(8, 40, num))
    x = torch.tensor(rng.uniform(-0.5, 0.5, num)) * z
    dims = torch.tensor(np.stack([rng.uniform(1.4, 1.8, num), rng.uniform(1.5, 1.8, num),
                                  rng.uniform(3.5, 4.5, num)], 1))  # h, w, l
    rot_y = torch.tensor(rng.uniform(-math.pi, math.pi, num))
    loc = torch.stack([x, torch.full_like(x, 1.65), z], 1)
    boxes_3d = torch.cat([loc, dims[:, [2, 0, 1]], rot_y[:, None]], 1)
    center = project(loc - torch.stack([0 * x, dims[:, 0] / 2, 0 * x], 1), P2)
    size = torch.tensor(rng.uniform(30, 80, (num, 2)))
    bboxes = torch.cat([center - size / 2, center + size / 2], 1)
    alphas = rot_y_to_alpha(rot_y, center[:, 0], P2)
    return InstanceData(bboxes=bboxes.float(), labels=torch.tensor(rng.randint(0, 3, num)),
                        bboxes_3d=boxes_3d.float(), alphas=alphas.float())


def _maps_from_targets(targets, num_classes, shape):
    """Perfect network outputs: the targets written back at their pixels."""
    num_imgs = targets['indices'].shape[0]
    h, w = shape
    maps = dict(heatmap=targets['heatmap'].clone())
    rot = torch.zeros(num_imgs, 8, h * w)
    names = [('wh', 2), ('offset', 2), ('depth', 1), ('dim', 3)]
    if 'center3d_offset' in targets:
        names.append(('center3d_offset', 2))
    for name, ch in names:
        m = torch.zeros(num_imgs, ch, h * w)
        for b in range(num_imgs):
            sel = targets['mask'][b] > 0
            m[b][:, targets['indices'][b][sel]] = targets[name][b][sel].T.float()
        maps[name] = m.view(num_imgs, ch, h, w)
    for b in range(num_imgs):
        sel = targets['mask'][b] > 0
        bins, res = targets['rot'][b][sel, :2], targets['rot'][b][sel, 2:]
        raw = torch.zeros(int(sel.sum()), 8)
        raw[:, 1], raw[:, 5] = bins[:, 0] * 2 + 1e-3, bins[:, 1] * 2  # bin 1 wins ties
        for k in range(2):
            raw[:, 4 * k + 2], raw[:, 4 * k + 3] = torch.sin(res[:, k]), torch.cos(res[:, k])
        rot[b][:, targets['indices'][b][sel]] = raw.T
    maps['rot'] = rot.view(num_imgs, 8, h, w)
    return maps


@pytest.mark.parametrize('seed', [0, 1])
def test_decode_encode_round_trip(seed):
    gts = [_scene(seed), _scene(seed + 10, 4)]
    metas = [dict(cam2img=P2.numpy(), affine_matrix=np.eye(3))] * 2
    shape = (96, 320)
    codec = DDDCodec(num_classes=3, stride=STRIDE, topk=20, box_mode='corrected')
    targets = codec.encode(gts, shape, metas)
    maps = _maps_from_targets(targets, 3, shape)
    dets = codec.to_original(codec.decode_maps(maps, metas), metas)
    for b, gt in enumerate(gts):
        keep = dets['scores'][b] == 1
        assert int(keep.sum()) == len(gt)
        boxes = dets['bboxes_3d'][b][keep]
        order = [int(torch.cdist(boxes[:, [0, 2]].float(), g[None, [0, 2]]).argmin())
                 for g in gt.bboxes_3d]
        found = boxes[order].float()
        torch.testing.assert_close(found[:, :6], gt.bboxes_3d[:, :6], atol=2e-3, rtol=1e-4)
        torch.testing.assert_close(wrap_angle(found[:, 6] - gt.bboxes_3d[:, 6]),
                                   torch.zeros(len(gt)), atol=1e-4, rtol=0)
        torch.testing.assert_close(dets['bboxes'][b][keep][order], gt.bboxes, atol=1e-3,
                                   rtol=0)
        torch.testing.assert_close(dets['labels'][b][keep][order], gt.labels)


def _kitti_like_scene(seed: int, num: int, affine: np.ndarray):
    """Objects labelled as KITTI does: the 2D box is the extent of the projected corners
    (clipped to a 1242 x 375 image), so its center is not the projected 3D center. Boxes in
    input pixels of ``affine``."""
    rng = np.random.RandomState(seed)
    z = torch.tensor(rng.uniform(5, 30, num))
    x = torch.tensor(rng.uniform(-0.6, 0.6, num)) * z
    dims = torch.tensor(np.stack([rng.uniform(1.4, 1.8, num), rng.uniform(1.5, 1.8, num),
                                  rng.uniform(3.5, 4.5, num)], 1))  # h, w, l
    rot_y = torch.tensor(rng.uniform(-math.pi, math.pi, num))
    loc = torch.stack([x, torch.full_like(x, 1.65), z], 1)
    boxes_3d = torch.cat([loc, dims[:, [2, 0, 1]], rot_y[:, None]], 1)
    uv = project(box3d_corners(boxes_3d), P2)
    lo = uv.amin(1).clamp(min=0)
    hi = torch.minimum(uv.amax(1), torch.tensor([1241., 374.], dtype=torch.float64))
    bboxes = torch.cat([lo, hi], 1).view(-1, 2, 2)
    mat = torch.as_tensor(affine)
    bboxes = (bboxes @ mat[:2, :2].T + mat[:2, 2]).view(-1, 4)
    center = project(loc - torch.stack([0 * x, dims[:, 0] / 2, 0 * x], 1), P2)
    alphas = rot_y_to_alpha(rot_y, center[:, 0], P2)
    return InstanceData(bboxes=bboxes.float(), labels=torch.tensor(rng.randint(0, 3, num)),
                        bboxes_3d=boxes_3d.float(), alphas=alphas.float())


def _match_3d(dets, gt, b):
    """The decoded boxes of image ``b`` (perfect maps: score 1) in the order of ``gt``."""
    keep = dets['scores'][b] == 1
    boxes = dets['bboxes_3d'][b][keep]
    assert len(boxes) == len(gt)
    order = [int(torch.cdist(boxes[:, [0, 2]].float(), g[None, [0, 2]]).argmin())
             for g in gt.bboxes_3d]
    return boxes[order].float()


def test_projected_center_mode_recovers_kitti_labelled_boxes():
    """With 2D boxes labelled as KITTI does, the official construction (unproject the 2D
    box center) misplaces the 3D boxes; ``center_mode='projected'`` recovers them, through
    a non-trivial input affine."""
    affine = np.array([[1 / 3, 0., 2.], [0., 1 / 3, -1.], [0., 0., 1.]])
    gts = [_kitti_like_scene(5, 6, affine), _kitti_like_scene(6, 4, affine)]
    metas = [dict(cam2img=P2.numpy(), affine_matrix=affine)] * 2
    shape = (32, 104)
    targets = DDDCodec(num_classes=3, stride=STRIDE, center_mode='projected').encode(
        gts, shape, metas)
    assert targets['center3d_offset'].shape == (2, 50, 2)
    assert (targets['center3d_offset'][targets['mask'] == 0] == 0).all()
    maps = _maps_from_targets(targets, 3, shape)
    errors = {}
    for mode in ('official', 'projected'):
        dec = DDDCodec(topk=20, stride=STRIDE, box_mode='corrected', center_mode=mode)
        dets = dec.to_original(dec.decode_maps(maps, metas), metas)
        errors[mode] = torch.cat([(_match_3d(dets, gt, b)[:, :3] - gt.bboxes_3d[:, :3]).abs()
                                  for b, gt in enumerate(gts)])
        if mode == 'projected':
            for b, gt in enumerate(gts):
                found = _match_3d(dets, gt, b)
                # z is off by P2[2, 3] (2.7 mm): the official depth target is the location's
                # z, the official unprojection reads it as z + P2[2, 3]
                torch.testing.assert_close(found[:, :6], gt.bboxes_3d[:, :6], atol=3e-3,
                                           rtol=1e-4)
                torch.testing.assert_close(wrap_angle(found[:, 6] - gt.bboxes_3d[:, 6]),
                                           torch.zeros(len(gt)), atol=1e-4, rtol=0)
            # the same boxes from the input camera (no back-mapping)
            in_input = dec.decode_maps(maps, metas)['bboxes_3d']
            torch.testing.assert_close(in_input, dets['bboxes_3d'], atol=1e-4, rtol=1e-5)
    assert errors['official'].max() > 0.05  # the 2D box center is not the 3D center


def test_branches_follow_the_center_mode():
    codec = DDDCodec(num_classes=2)
    assert codec.branch_channels == dict(heatmap=2, wh=2, offset=2, depth=1, rot=8, dim=3)
    projected = DDDCodec(num_classes=2, center_mode='projected').branch_channels
    assert projected == dict(codec.branch_channels, center3d_offset=2)
    assert codec.activations == dict(heatmap='sigmoid', depth='inverse_sigmoid_depth')
    assert DDDCodec.official_heads == dict(hm='heatmap', wh='wh', reg='offset', dep='depth',
                                           rot='rot', dim='dim')
    raw = torch.tensor([0., 2.])
    torch.testing.assert_close(codec.activate(dict(depth=raw))['depth'],
                               1 / (raw.sigmoid() + 1e-6) - 1)


def test_mode_errors():
    with pytest.raises(ValueError, match='center_mode'):
        DDDCodec(center_mode='3d')
    with pytest.raises(ValueError, match='box_mode'):
        DDDCodec(box_mode='exact')
    gt = _scene(0, 2)
    with pytest.raises(KeyError, match='cam2img.*image 0'):
        DDDCodec(center_mode='projected').encode([gt], (48, 160), [dict(img_path='a.png')])
    maps = _maps_from_targets(DDDCodec().encode([gt], (48, 160)), 3, (48, 160))
    with pytest.raises(KeyError, match='center3d_offset'):
        DDDCodec(center_mode='projected').decode_maps(maps, [dict(cam2img=P2.numpy())])


def test_rescale_and_input_camera_give_the_same_boxes():
    """3D boxes from the input camera (``affine @ P2``) equal those after back-mapping."""
    gts = [_scene(3)]
    affine = np.array([[0.5, 0., 10.], [0., 0.5, -4.], [0., 0., 1.]])
    moved = InstanceData(**{k: v for k, v in gts[0].items()})
    corners = moved.bboxes.view(-1, 2, 2).double()
    moved.bboxes = (corners * 0.5 + torch.tensor([10., -4.], dtype=torch.float64)).view(
        -1, 4).float()
    metas = [dict(cam2img=P2.numpy(), affine_matrix=affine)]
    dec = DDDCodec(num_classes=3, stride=STRIDE, topk=10)
    maps = _maps_from_targets(dec.encode([moved], (48, 160), metas), 3, (48, 160))
    in_input = dec.decode_maps(maps, metas)
    in_original = dec.to_original(in_input, metas)
    torch.testing.assert_close(in_input['bboxes_3d'], in_original['bboxes_3d'], atol=1e-4,
                               rtol=1e-5)


def test_bins_round_trip_and_overlap():
    alpha = torch.linspace(-math.pi + 1e-3, math.pi - 1e-3, 101)
    bins, res = alpha_to_bins(alpha)
    assert bins.sum(1).min() >= 1  # every angle has a bin; both near 0 and pi
    both = bins.sum(1) == 2
    assert both[alpha.abs() < math.pi / 6 - 1e-3].all()
    assert both[alpha.abs() > 5 * math.pi / 6 + 1e-3].all()
    raw = torch.zeros(101, 8)
    raw[:, 1], raw[:, 5] = bins[:, 0], bins[:, 1] - 0.5
    for k in range(2):
        raw[:, 4 * k + 2], raw[:, 4 * k + 3] = torch.sin(res[:, k]), torch.cos(res[:, k])
    torch.testing.assert_close(wrap_angle(bins_to_alpha(raw) - alpha), torch.zeros(101),
                               atol=1e-5, rtol=0)


def test_ignore_regions_and_jitter_masks():
    enc = DDDCodec(num_classes=3, stride=1, max_objs=4)
    boxes = torch.tensor([[10., 10., 20., 20.], [30., 10., 40., 20.], [50., 10., 60., 20.]])
    gt = InstanceData(bboxes=boxes, labels=torch.tensor([1, -1, 2]),
                      bboxes_3d=torch.ones(3, 7) * 5, alphas=torch.zeros(3),
                      dontcare=torch.tensor([False, True, True]))
    t = enc.encode([gt, gt], (32, 64), [dict(jittered=False), dict(jittered=True)])
    hm = t['heatmap'][0]
    assert hm[1, 15, 15] == 1.0 and (hm[:, 15, 35] == np.float32(0.9999)).all()
    assert hm[2, 15, 55] == np.float32(0.9999) and hm[:2, 15, 55].max() == 0
    assert t['mask'][0].tolist() == [1, 0, 0, 0]  # ignore regions get no regression target
    assert t['depth_mask'][0].tolist() == [1, 0, 0, 0]
    assert t['depth_mask'][1].tolist() == [0, 0, 0, 0]  # jittered image: no depth / size
    assert t['mask'][1].tolist() == [1, 0, 0, 0]
    assert t['dim'][0, 0].tolist() == [5, 5, 5] and t['depth'][0, 0, 0] == 5


def test_bin_rot_loss_masks_and_counts_empty_slots():
    """Empty slots add log 2 per bin (zeroed logits, target 0) as officially; a confident
    correct prediction of the filled slot is near zero otherwise."""
    target = torch.zeros(1, 3, 4)
    target[0, 0] = torch.tensor([1., 0., 0.2, 0.])
    mask = torch.tensor([[1., 0., 0.]])
    pred = torch.zeros(1, 3, 8)
    pred[0, 0] = torch.tensor([-20., 20., math.sin(0.2), math.cos(0.2), 20., -20., 0., 0.])
    loss = BinRotLoss()(pred, target, mask)
    assert loss.item() == pytest.approx(2 * (2 / 3) * math.log(2), abs=1e-6)
    pred[0, 1:] = 100.  # masked slots do not matter
    assert BinRotLoss()(pred, target, mask).item() == pytest.approx(loss.item(), abs=1e-6)


def test_unproject_inverts_project():
    pts = torch.tensor([[1.5, 1.2, 20.], [-4., 0.3, 7.]], dtype=torch.float64)
    uv = project(pts, P2)
    torch.testing.assert_close(unproject(uv, pts[:, 2] + P2[2, 3], P2), pts)
    corners = box3d_corners(torch.tensor([[0., 1.65, 10., 4., 1.5, 1.6, 0.]],
                                         dtype=torch.float64))
    torch.testing.assert_close(corners[0, :, 1], torch.tensor([1.65] * 4 + [0.15] * 4,
                                                             dtype=torch.float64))
    assert corners[0, [0, 1, 4, 5], 0].eq(2.).all()  # the front at +l/2 for rot_y = 0


def test_no_camera_warns_and_gives_no_3d_boxes():
    """An image without ``cam2img`` (e.g. the 2D image demo): a warning naming the remedy,
    never 3D boxes from a made-up camera."""
    from mmcenternet.models.task_modules import MissingCameraWarning
    gts = [_scene(3)]
    metas = [dict(cam2img=P2.numpy(), affine_matrix=np.eye(3))]
    dec = DDDCodec(num_classes=3, stride=STRIDE, topk=10)
    maps = _maps_from_targets(dec.encode(gts, (48, 160), metas), 3, (48, 160))
    no_cam = [dict(affine_matrix=np.eye(3))]
    with pytest.warns(MissingCameraWarning, match='mono3d_demo.py'):
        dets = dec.to_original(dec.decode_maps(maps, no_cam), no_cam)
    assert 'bboxes_3d' not in dets and dets['bboxes'].shape == (1, 10, 4)


def test_check_dataset_compares_the_classes():
    from mmcenternet.errors import ConfigError
    codec = DDDCodec(num_classes=3)
    codec.check_dataset(dict(classes=('Pedestrian', 'Car', 'Cyclist')), 'ds')
    with pytest.raises(ConfigError, match=r'ds has 2 classes \(Car, Cyclist\) but the codec '
                       'DDDCodec has num_classes=3'):
        codec.check_dataset(dict(classes=('Car', 'Cyclist')), 'ds')
