"""3D targets, losses and detections equal the official CenterNet ``ddd`` code's.

tests/data/official_ddd.npz was computed by running the official code (xingyizhou/CenterNet
@ 4c50fd3) with tests/data/make_official_ddd_fixtures.py: ``DddDataset.__getitem__`` on
three KITTI label files (with every KITTI type, truncated objects, DontCare / Van /
Person_sitting ignore regions placed on real objects, its random crop with fixed seeds),
``DddLoss`` on fixed head outputs and ``ddd_decode`` + ``ddd_post_process`` on them.

One deliberate difference: the official loader gives Tram / Misc (skipped objects) a target
slot; ``KittiMono3DDataset`` drops them. The fixture puts them last, where the slots of the
other objects are the same (an image with more than 50 annotations would differ).
"""
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmcenternet.datasets.transforms.center_affine import affine_matrix
from mmcenternet.registry import DATASETS, MODELS
from test_tools.kitti_workspace import DDD_FIXTURES, ROOT, dataset_cfg, fixture_scene, write_kitti

FIXTURES = np.load(DDD_FIXTURES)
SCENES = (0, 1, 2)
INPUT = (1280, 384)
CONFIG = osp.join(ROOT, 'configs', 'centernet_3d',
                  'centernet_dla34-dcnv2_2xb8-1280x384-70e_kitti-3dop.py')
META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'affine_matrix',
             'cam2img', 'jittered')


def _fixture_module():
    spec = importlib.util.spec_from_file_location(
        'make_official_ddd_fixtures', osp.join(ROOT, 'tests', 'data',
                                               'make_official_ddd_fixtures.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def head():
    cfg = Config.fromfile(CONFIG)
    return MODELS.build(cfg.model.bbox_head)


@pytest.fixture(scope='module')
def kitti(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('kitti'))
    return write_kitti(root, {f'{i:06d}': fixture_scene(FIXTURES, i) for i in SCENES})


def _samples(kitti, pipeline):
    dataset = DATASETS.build(dataset_cfg(kitti, pipeline=pipeline))
    out = []
    for i in SCENES:
        np.random.seed(int(FIXTURES[f'{i}_seed']))
        out.append(dataset[i])
    return out


def _raw_instances(kitti):
    """Our dataset's instances, with the official output-space boxes (x 4 = input px)."""
    samples = _samples(kitti, [dict(type='LoadMono3DAnnotations'),
                               dict(type='PackCenterNetInputs', meta_keys=('img_id', ))])
    gts, metas = [], []
    for i, sample in zip(SCENES, samples):
        gt = sample['data_samples'].gt_instances
        n = len(gt)
        assert n == len(FIXTURES[f'{i}_out_boxes']) - 2  # Tram, Misc (last) are skipped
        gt.bboxes = torch.from_numpy(FIXTURES[f'{i}_out_boxes'][:n]) * 4
        gts.append(gt)
        metas.append(dict(jittered=bool(FIXTURES[f'{i}_aug'] > 0)))
    return gts, metas


def _official_targets(i):
    f = {k: FIXTURES[f'{i}_{k}'] for k in ('hm', 'wh', 'reg', 'ind', 'rot_mask', 'reg_mask',
                                           'dep', 'dim', 'rotbin', 'rotres')}
    return f


def _assert_targets(t, i, b, exact_boxes=True):
    off = _official_targets(i)
    box_tol = dict(rtol=0, atol=0) if exact_boxes else dict(rtol=0, atol=2e-4)
    np.testing.assert_array_equal(t['heatmap'][b].numpy(), off['hm'])
    np.testing.assert_allclose(t['wh'][b].numpy(), off['wh'], **box_tol)
    np.testing.assert_allclose(t['offset'][b].numpy(), off['reg'], **box_tol)
    np.testing.assert_array_equal(t['indices'][b].numpy(), off['ind'])
    np.testing.assert_array_equal(t['mask'][b].numpy(), off['rot_mask'])
    np.testing.assert_array_equal(t['depth_mask'][b].numpy(), off['reg_mask'])
    np.testing.assert_array_equal(t['dim_mask'][b].numpy(), off['reg_mask'])
    np.testing.assert_array_equal(t['depth'][b].numpy(), off['dep'])
    np.testing.assert_array_equal(t['dim'][b].numpy(), off['dim'])
    np.testing.assert_array_equal(t['rot'][b, :, :2].numpy(), off['rotbin'])
    np.testing.assert_allclose(t['rot'][b, :, 2:].numpy(), off['rotres'], rtol=0, atol=1e-6)


def test_fixture_covers_the_cases():
    for i in SCENES:
        hm = FIXTURES[f'{i}_hm']
        assert (hm == np.float32(0.9999)).sum() >= 8  # ignore centers, incl. all-class ones
        assert FIXTURES[f'{i}_rot_mask'].sum() >= 10
        assert FIXTURES[f'{i}_rotbin'].sum(1).max() == 2  # objects in both bins
    assert FIXTURES['0_reg_mask'].sum() > 0 and FIXTURES['1_reg_mask'].sum() == 0


def test_encoder_targets_equal_official(head, kitti):
    """Same output-space boxes in: every target equal, value for value."""
    gts, metas = _raw_instances(kitti)
    t = head.codec.encode(gts, (96, 320), metas)
    for b, i in enumerate(SCENES):
        _assert_targets(t, i, b)


def test_pipeline_targets_equal_official(head, kitti):
    """Label files -> KittiMono3DDataset -> CenterAffine (official random crop, same seed)
    -> encoder: the official targets (box sizes to the float32 rounding of the affine)."""
    pipeline = [dict(type='LoadImageFromFileSafe'), dict(type='LoadMono3DAnnotations'),
                dict(type='CenterAffine', input_size=INPUT, shift=0.1, scale=0.4,
                     jitter_prob=float(FIXTURES['1_aug']), jitter_style='ddd'),
                dict(type='PackCenterNetInputs', meta_keys=META_KEYS)]
    samples = _samples(kitti, pipeline)
    for b, (i, sample) in enumerate(zip(SCENES, samples)):
        if FIXTURES[f'{i}_aug'] != FIXTURES['1_aug']:
            continue  # the no-crop scene is covered by the test below
        ds = sample['data_samples']
        expected = affine_matrix(FIXTURES[f'{i}_center'], FIXTURES[f'{i}_scale'][0], INPUT)
        np.testing.assert_allclose(ds.affine_matrix, expected, rtol=1e-6, atol=1e-4)
        assert ds.jittered
        t = head.codec.encode([ds.gt_instances], (96, 320), [ds.metainfo])
        _assert_targets(t, i, 0, exact_boxes=False)


def test_pipeline_without_crop_equals_official(head, kitti):
    pipeline = [dict(type='LoadImageFromFileSafe'), dict(type='LoadMono3DAnnotations'),
                dict(type='CenterAffine', input_size=INPUT, shift=0.1, scale=0.4,
                     jitter_prob=0.0, jitter_style='ddd'),
                dict(type='PackCenterNetInputs', meta_keys=META_KEYS)]
    sample = _samples(kitti, pipeline)[0]
    ds = sample['data_samples']
    assert not ds.jittered and FIXTURES['0_aug'] == 0
    t = head.codec.encode([ds.gt_instances], (96, 320), [ds.metainfo])
    _assert_targets(t, 0, 0, exact_boxes=False)


def test_losses_equal_official(head, kitti):
    gts, metas = _raw_instances(kitti)
    raw = _fixture_module().head_outputs(len(SCENES))
    outs = dict(heatmap=raw['hm'], depth=raw['dep'], rot=raw['rot'], dim=raw['dim'],
                wh=raw['wh'], offset=raw['reg'])
    losses = head.loss_by_feat([outs], gts, metas)
    names = dict(heatmap='hm', depth='dep', rot='rot', dim='dim', wh='wh', offset='off')
    weights = dict(wh=0.1)
    for ours, official in names.items():
        expected = float(FIXTURES[f'loss_{official}_loss']) * weights.get(ours, 1.)
        torch.testing.assert_close(losses[f'loss_{ours}'], torch.tensor(expected),
                                   rtol=2e-5, atol=0)
    total = sum(losses.values())
    torch.testing.assert_close(total, torch.tensor(float(FIXTURES['loss_loss'])), rtol=2e-5,
                               atol=0)


def _metas(i):
    return dict(affine_matrix=affine_matrix(FIXTURES[f'{i}_center'],
                                            FIXTURES[f'{i}_scale'][0], INPUT),
                cam2img=FIXTURES[f'{i}_calib'].astype(np.float64))


@pytest.mark.parametrize('i', SCENES)
def test_decode_and_post_process_equal_official(head, i):
    raw = _fixture_module().head_outputs(len(SCENES))
    maps = head.activate(dict(heatmap=raw['hm'][i:i + 1], depth=raw['dep'][i:i + 1],
                              rot=raw['rot'][i:i + 1], dim=raw['dim'][i:i + 1],
                              wh=raw['wh'][i:i + 1], offset=raw['reg'][i:i + 1]))
    metas = [_metas(i)]
    dets = head.codec.decode_maps(maps, metas)
    official = torch.from_numpy(FIXTURES['dets'][i])  # x y score rot(8) dep dim(3) wh(2) cls
    torch.testing.assert_close(dets['centers'][0] / 4, official[:, :2], rtol=0, atol=1e-5)
    torch.testing.assert_close(dets['scores'][0], official[:, 2], rtol=0, atol=0)
    torch.testing.assert_close(dets['depths'][0], official[:, 11], rtol=1e-6, atol=0)
    torch.testing.assert_close(dets['dims'][0], official[:, 12:15], rtol=0, atol=0)
    torch.testing.assert_close(dets['labels'][0].float(), official[:, 17], rtol=0, atol=0)

    final = head.codec.to_original(dets, metas)
    post = torch.from_numpy(FIXTURES[f'{i}_post'])
    # official rows are grouped by class (in top-K order within a class)
    order = torch.sort(final['labels'][0], stable=True).indices
    boxes3d = final['bboxes_3d'][0][order]
    torch.testing.assert_close(final['labels'][0][order].float(), post[:, 13])
    torch.testing.assert_close(final['scores'][0][order], post[:, 12])
    torch.testing.assert_close(final['alphas'][0][order], post[:, 0], rtol=0, atol=1e-5)
    torch.testing.assert_close(final['bboxes'][0][order], post[:, 1:5], rtol=0, atol=2e-3)
    torch.testing.assert_close(boxes3d[:, [4, 5, 3]], post[:, 5:8], rtol=0, atol=1e-6)
    torch.testing.assert_close(boxes3d[:, :3], post[:, 8:11], rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(boxes3d[:, 6], post[:, 11], rtol=0, atol=1e-5)


def test_corrected_box_mode_differs_by_the_official_translation(head):
    """``box_mode='corrected'`` maps box corners; the official size-as-a-point mapping adds
    the inverse affine's translation to the size (here about 1.2 px of height)."""
    from mmcenternet.models.task_modules import DDDCodec
    raw = _fixture_module().head_outputs(1)
    maps = head.activate(dict(heatmap=raw['hm'], depth=raw['dep'], rot=raw['rot'],
                              dim=raw['dim'], wh=raw['wh'], offset=raw['reg']))
    metas = [_metas(0)]
    official = head.codec.to_original(head.codec.decode_maps(maps, metas), metas)
    corrected_dec = DDDCodec(box_mode='corrected')
    corrected = corrected_dec.to_original(corrected_dec.decode_maps(maps, metas), metas)
    inv = np.linalg.inv(metas[0]['affine_matrix'])
    height_gap = (official['bboxes'][..., 3] - official['bboxes'][..., 1]) - (
        corrected['bboxes'][..., 3] - corrected['bboxes'][..., 1])
    torch.testing.assert_close(height_gap, torch.full_like(height_gap, float(inv[1, 2])),
                               rtol=0, atol=1e-3)
    assert abs(inv[1, 2]) > 1
    torch.testing.assert_close(official['bboxes_3d'], corrected['bboxes_3d'])
