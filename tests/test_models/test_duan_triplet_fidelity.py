"""Keypoint Triplets against Duan et al.'s code (Duankaiwen/CenterNet @3ad3a10).

The expected values in tests/data/duan_triplet.npz were computed by running Duan's own
functions (``sample/coco.py:kp_detection``, ``models/py_utils/kp.py:AELoss``,
``kp_utils.py:_decode`` and ``test/coco.py:kp_detection`` with its compiled soft-NMS);
regenerate them with tests/data/make_duan_triplet_fixtures.py (its docstring says how).
The random network outputs are re-drawn here from the stored seeds.
"""
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmcenternet.registry import MODELS, TASK_UTILS

HERE = osp.dirname(osp.abspath(__file__))
DATA = osp.join(HERE, '..', 'data')
FIXTURES = np.load(osp.join(DATA, 'duan_triplet.npz'))
_spec = importlib.util.spec_from_file_location(
    'make_duan_triplet_fixtures', osp.join(DATA, 'make_duan_triplet_fixtures.py'))
GEN = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(GEN)
NUM_CLASSES = GEN.NUM_CLASSES


def _maps(seed, batch, height, width, expected_sum):
    maps = GEN.random_maps(seed, batch, height, width)
    assert sum(float(v.astype(np.float64).sum()) for v in maps.values()) == pytest.approx(
        float(expected_sum), rel=1e-12)
    return {k: torch.from_numpy(v) for k, v in maps.items()}


def _gt(prefix):
    return [InstanceData(bboxes=torch.from_numpy(FIXTURES[f'{prefix}_boxes_{i}']),
                         labels=torch.from_numpy(FIXTURES[f'{prefix}_labels_{i}']))
            for i in range(2)]


def _metas(input_size):
    shape = (input_size, input_size)
    return [dict(batch_input_shape=shape, img_shape=shape) for _ in range(2)]


def _encode(input_size, output_size):
    encoder = TASK_UTILS.build(dict(type='TripletCodec', num_classes=NUM_CLASSES))
    return encoder.encode(_gt(f'targets_{input_size}'), (output_size, output_size),
                          _metas(input_size))


def _head(num_stacks=2):
    return MODELS.build(dict(type='TripletHead', in_channels=8,
                             codec=dict(type='TripletCodec', num_classes=NUM_CLASSES),
                             feat_channels=8, pool_channels=4, num_stacks=num_stacks))


@pytest.mark.parametrize('input_size,output_size', GEN.TARGET_CASES)
def test_targets_equal_duan(input_size, output_size):
    prefix = f'targets_{input_size}'
    ours = _encode(input_size, output_size)
    mask = FIXTURES[f'{prefix}_mask'].astype(bool)
    assert mask.sum() > 10 and not mask.all(1).any()
    np.testing.assert_array_equal(ours['mask'].numpy().astype(bool), mask)
    for kp in ('tl', 'br', 'ct'):
        np.testing.assert_allclose(ours[f'{kp}_heatmap'].numpy(),
                                   FIXTURES[f'{prefix}_{kp}_heatmap'], rtol=0, atol=1e-6)
        np.testing.assert_array_equal(ours[f'{kp}_indices'].numpy()[mask],
                                      FIXTURES[f'{prefix}_{kp}_indices'][mask])
        np.testing.assert_allclose(ours[f'{kp}_offset'].numpy()[mask],
                                   FIXTURES[f'{prefix}_{kp}_offset'][mask], rtol=0, atol=1e-6)
    # the center keypoints' narrower gaussians (sigma = diameter / 5) differ from a corner's
    assert not np.allclose(FIXTURES[f'{prefix}_ct_heatmap'].sum(),
                           FIXTURES[f'{prefix}_tl_heatmap'].sum())


def test_losses_equal_duan():
    output_size = 128
    stack_outs = [_maps(GEN.LOSS_SEED + s, 2, output_size, output_size,
                        FIXTURES[f'loss_map_sum_{s}']) for s in range(2)]
    losses = _head().loss_by_feat(stack_outs, _gt('targets_511'), _metas(511))
    total, focal, pull, push, regr = FIXTURES['loss_values']
    ours = {
        'focal': sum(losses[f'loss_{k}_heatmap'] for k in ('tl', 'br', 'ct')),
        'pull': losses['loss_pull'], 'push': losses['loss_push'],
        'regr': sum(losses[f'loss_{k}_offset'] for k in ('tl', 'br', 'ct')),
        'total': sum(losses.values())}
    for name, expected in dict(focal=focal, pull=pull, push=push, regr=regr,
                               total=total).items():
        assert float(ours[name]) == pytest.approx(expected, rel=1e-5, abs=1e-6), name
    assert push > 0 and pull > 0


# ----------------------------------------------------------------------------- decoding
def _decode_inputs():
    height, width, inp_h, inp_w, out_h, out_w = FIXTURES['decode_sizes']
    maps = _maps(GEN.DECODE_SEED, 2, int(out_h), int(out_w), FIXTURES['decode_map_sum'])
    maps = {k: v.sigmoid() if k.endswith('heatmap') else v for k, v in maps.items()}
    top, left = FIXTURES['border']
    affine = np.array([[1, 0, left], [0, 1, top], [0, 0, 1]], dtype=np.float32)
    metas = [dict(batch_input_shape=(int(inp_h), int(inp_w)), img_shape=(int(inp_h),
                  int(inp_w)), ori_shape=(int(height), int(width)), affine_matrix=affine)]
    image = {k: v[:1] for k, v in maps.items()}
    mirror = {k: v[1:] for k, v in maps.items()}
    return image, mirror, metas


def _decoder():
    return TASK_UTILS.build(dict(type='TripletCodec', num_classes=NUM_CLASSES, topk=GEN.TOPK,
                                 ae_threshold=GEN.AE_THRESHOLD, kernel=GEN.NMS_KERNEL))


def test_decode_equals_duan():
    """Our ``decode`` on each view = Duan's ``_decode`` (output-map coordinates)."""
    image, mirror, _ = _decode_inputs()
    expected, centers = FIXTURES['decode_dets'], FIXTURES['decode_centers']
    for view, maps in enumerate((image, mirror)):
        dets = _decoder().decode(**maps)
        ref = expected[view]
        valid = ref[:, 4] > -1
        assert valid.sum() > 100
        np.testing.assert_array_equal(dets['scores'][0].numpy() > -1, valid)
        np.testing.assert_allclose(dets['scores'][0].numpy()[valid], ref[valid, 4], atol=1e-6)
        np.testing.assert_allclose(dets['bboxes'][0].numpy()[valid], ref[valid, :4],
                                   rtol=1e-6, atol=1e-5)
        np.testing.assert_array_equal(dets['labels'][0].numpy()[valid], ref[valid, 7])
        np.testing.assert_allclose(dets['tl_scores'][0].numpy()[valid], ref[valid, 5])
        np.testing.assert_allclose(dets['br_scores'][0].numpy()[valid], ref[valid, 6])
        np.testing.assert_allclose(dets['centers'][0].numpy(), centers[view][:, :2],
                                   rtol=1e-6, atol=1e-5)
        np.testing.assert_array_equal(dets['center_labels'][0].numpy(), centers[view][:, 2])
        np.testing.assert_allclose(dets['center_scores'][0].numpy(), centers[view][:, 3])


def _sorted(boxes, labels):
    order = np.lexsort((labels, -boxes[:, 4]))
    return boxes[order], labels[order]


def test_central_region_rescoring_equals_duan():
    """Both views, back to the image, rejected if outside, central-region test: the
    surviving candidates and their ``(2 pair + center) / 3`` scores are Duan's."""
    image, mirror, metas = _decode_inputs()
    decoder = _decoder()
    dets = decoder.decode_maps(decoder.flip_merge(image, mirror, metas), metas)
    dets = decoder.to_original(dets, metas)
    scores = decoder.rescore(dets)[0]
    keep = scores > -1
    ours = torch.cat([dets['bboxes'][0][keep], scores[keep, None]], 1).numpy()
    ours, our_labels = _sorted(ours, dets['labels'][0][keep].numpy())
    ref, ref_labels = _sorted(FIXTURES['rescored'], FIXTURES['rescored_labels'])
    assert len(ref) > 100 and len(ours) == len(ref)
    np.testing.assert_array_equal(our_labels, ref_labels)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)
    # some candidates were dropped by the central-region test (not only by decoding)
    assert int(((dets['scores'][0] > -1) & ~keep).sum()) > 100


def test_full_single_scale_test_equals_duan():
    """... then per-class soft-NMS (mmcv's, gaussian, +1 areas) and the best 100: Duan's
    soft-NMS result.

    Duan's final list also holds stale copies of boxes that its Cython ``soft_nms`` wrote
    over discarded ones (its caller ignores ``keep``); we do not reproduce those
    duplicates, and check that they are the only difference.
    """
    image, mirror, metas = _decode_inputs()
    head = _head(num_stacks=1)
    results = head.decode_maps(head.codec.flip_merge(image, mirror, metas), metas,
                               rescale=True)[0]
    ours = torch.cat([results.bboxes, results.scores[:, None]], 1).numpy()
    ours, our_labels = _sorted(ours, results.labels.numpy())
    ref, ref_labels = _sorted(FIXTURES['soft_nms'], FIXTURES['soft_nms_labels'])
    assert 50 < len(ref) == len(ours) <= 100
    np.testing.assert_array_equal(our_labels, ref_labels)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)
    # Duan's final = that result + stale copies of its input boxes
    final = FIXTURES['final']
    assert FIXTURES['soft_nms_stale_rows'] > 0 and len(final) == 100
    same = ((np.abs(final[:, None, :4] - ref[None, :, :4]).max(-1) < 1e-3)
            & np.isclose(final[:, None, 4], ref[None, :, 4], rtol=1e-5, atol=1e-7))
    in_result = same.any(1)
    above = ref[:, 4] >= final[:, 4].min()  # what its top-100 threshold left of the result
    assert in_result.sum() == above.sum() > 50
    candidates = FIXTURES['rescored'][:, :4]
    stale = final[~in_result, :4]
    assert (np.abs(stale[:, None] - candidates[None]).max(-1) < 1e-4).any(1).all()
