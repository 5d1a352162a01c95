"""Targets, losses and detections equal the official CenterNet's on the same inputs.

The expected values in tests/data/official_ctdet.npz were computed by running the official
code (xingyizhou/CenterNet @ 4c50fd3: ``utils.image.gaussian_radius`` /
``draw_umich_gaussian`` in the ``CTDetDataset`` target loop, ``models.losses.FocalLoss`` /
``RegL1Loss``, ``models.decode.ctdet_decode``) with tests/data/make_official_fixtures.py.
"""
import os.path as osp

import numpy as np
import pytest
import torch

from mmcenternet.models.losses import CenterNetFocalLoss, RegL1Loss
from mmcenternet.models.task_modules import CTDetCodec, gather_at

FIXTURES = np.load(osp.join(osp.dirname(__file__), '..', 'data', 'official_ctdet.npz'))
SHAPES = {0: (64, 64), 1: (48, 80)}
STRIDE = 4


def _encode(s):
    boxes = [torch.from_numpy(FIXTURES[f's{s}_boxes{i}']) * STRIDE for i in range(3)]
    labels = [torch.from_numpy(FIXTURES[f's{s}_labels{i}']) for i in range(3)]
    encoder = CTDetCodec(num_classes=3, stride=STRIDE, max_objs=128)
    return encoder.encode_tensors(boxes, labels, SHAPES[s])


@pytest.mark.parametrize('s', [0, 1])
def test_targets_equal_official(s):
    t = _encode(s)
    np.testing.assert_array_equal(t['heatmap'].numpy(), FIXTURES[f's{s}_hm'])
    np.testing.assert_array_equal(t['wh'].numpy(), FIXTURES[f's{s}_wh'])
    np.testing.assert_array_equal(t['offset'].numpy(), FIXTURES[f's{s}_reg'])
    np.testing.assert_array_equal(t['indices'].numpy(), FIXTURES[f's{s}_ind'])
    np.testing.assert_array_equal(t['mask'].numpy(), FIXTURES[f's{s}_mask'])
    assert FIXTURES[f's{s}_mask'].sum() > 10  # the fixture has real objects


@pytest.mark.parametrize('s', [0, 1])
def test_losses_equal_official(s):
    t = _encode(s)
    logits = torch.from_numpy(FIXTURES[f's{s}_logits'])
    focal = CenterNetFocalLoss()(logits, t['heatmap'])
    torch.testing.assert_close(focal, torch.tensor(float(FIXTURES[f's{s}_loss_hm'])),
                               rtol=1e-5, atol=0)
    for name, key in (('wh', 'wh'), ('reg', 'offset')):
        pred = torch.from_numpy(FIXTURES[f's{s}_{name}_pred'])
        loss = RegL1Loss()(gather_at(pred, t['indices']), t[key], t['mask'])
        torch.testing.assert_close(loss, torch.tensor(float(FIXTURES[f's{s}_loss_{name}'])),
                                   rtol=1e-5, atol=0)


@pytest.mark.parametrize('s', [0, 1])
def test_decode_equals_official(s):
    heat = torch.sigmoid(torch.from_numpy(FIXTURES[f's{s}_logits']))
    wh = torch.from_numpy(FIXTURES[f's{s}_wh_pred'])
    reg = torch.from_numpy(FIXTURES[f's{s}_reg_pred'])
    dets = CTDetCodec(num_classes=3, topk=100, stride=1).decode(heat, wh, reg)
    official = torch.from_numpy(FIXTURES[f's{s}_dets'])  # (B, K, [x1 y1 x2 y2 score cls])
    torch.testing.assert_close(dets['bboxes'], official[..., :4], rtol=0, atol=1e-5)
    torch.testing.assert_close(dets['scores'], official[..., 4], rtol=0, atol=0)
    torch.testing.assert_close(dets['labels'].float(), official[..., 5], rtol=0, atol=0)
