"""Whole sample and test paths equal the official CenterNet's (not only single units).

Expected values: tests/data/official_pipeline.npz, computed by running the official code
(xingyizhou/CenterNet @ 4c50fd3) on the images, annotations and stand-in network of
tests/data/official_pipeline_common.py with tests/data/make_official_pipeline_fixtures.py
(see its docstring: (a) training samples, (b) pre/post-processing, (c) flip and
multi-scale test with the official merge, (d) head initialisation, (e) Cython soft-NMS).
"""
import copy
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmcenternet.models.utils.soft_nms import official_soft_nms
from mmcenternet.registry import DATASETS, MODELS, TASK_UTILS, TRANSFORMS
from test_tools.toy_workspace import QUICKSTART

DATA = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data')
sys.path.insert(0, DATA)
import official_pipeline_common as common  # noqa: E402

FIX = np.load(osp.join(DATA, 'official_pipeline.npz'))
SCALES = (0.5, 0.75, 1.0, 1.25, 1.5)
MEAN = [m * 255 for m in common.COCO_MEAN]
STD = [s * 255 for s in common.COCO_STD]
MODES = dict(keep32=dict(keep_res=True, pad_divisor=32),
             fix512=dict(keep_res=False, input_size=(512, 512)),
             keep128=dict(keep_res=True, pad_divisor=128))


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('official_pipeline')
    common.write_dataset(str(root))
    return str(root)


def preprocessor(pad: int = 32):
    return MODELS.build(dict(type='mmdet.DetDataPreprocessor', mean=MEAN, std=STD,
                             bgr_to_rgb=False, pad_size_divisor=pad))


def assert_input_equal(inputs: torch.Tensor, key: str) -> None:
    """Our normalised input against the official one (sub-sampled pixels and sums)."""
    inp = inputs.numpy().astype(np.float64)
    assert tuple(inp.shape) == tuple(FIX[f'{key}_shape'])
    step = int(FIX[f'{key}_step'])
    np.testing.assert_allclose(inp[:, ::step, ::step], FIX[f'{key}_sub'], rtol=0, atol=2e-5)
    np.testing.assert_allclose(inp.sum(axis=(1, 2)), FIX[f'{key}_sum'],
                               rtol=1e-6, atol=inp[0].size * 2e-6)
    np.testing.assert_allclose((inp ** 2).sum(axis=(1, 2)), FIX[f'{key}_sumsq'], rtol=1e-6)


# ----------------------------------------------------------------------------- (a)
def replay(n: int) -> common.DrawReplay:
    key = f'train{n}'
    return common.DrawReplay(dict(
        choice=list(FIX[f'{key}_choice']), randint=list(FIX[f'{key}_randint']),
        random=list(FIX[f'{key}_random']), uniform=list(FIX[f'{key}_uniform']),
        permutation=[FIX[f'{key}_permutation']], normal=[FIX[f'{key}_normal']]))


@pytest.mark.parametrize('n', range(6))
def test_training_sample_equals_official(n, data_root):
    """Random scale / crop / flip, colour + PCA lighting, normalisation, targets, max_objs."""
    key = f'train{n}'
    dataset = DATASETS.build(dict(
        type='CenterNetCocoDataset', data_root=data_root, ann_file='annotations.json',
        data_prefix=dict(img='images/'), pipeline=[],
        metainfo=dict(classes=tuple(f'class{c}' for c in common.CATEGORY_IDS)),
        filter_cfg=dict(filter_empty_gt=False)))
    rng = replay(n)
    steps = [TRANSFORMS.build(cfg) for cfg in (
        dict(type='LoadImageFromFileSafe'), dict(type='LoadAnnotations', with_bbox=True),
        dict(type='CenterAffine', input_size=(512, 512), random_scales=[0.6, 0.7, 0.8],
             border=128, flip_prob=0.5),
        dict(type='CenterNetColorAug'), dict(type='PackCenterNetInputs'))]
    steps[2].rng = steps[3].rng = rng
    results = dataset.get_data_info(int(FIX[f'{key}_index']))
    for step in steps:
        results = step(results)
    assert not any(rng.draws.values()), 'every official random draw is used'
    batch = preprocessor()(dict(inputs=[results['inputs']],
                                data_samples=[results['data_samples']]), False)
    assert_input_equal(batch['inputs'][0], f'{key}_inp')
    encoder = TASK_UTILS.build(dict(type='CTDetCodec', num_classes=common.NUM_CLASSES))
    gt = batch['data_samples'][0].gt_instances
    targets = encoder.encode([gt], (128, 128))
    np.testing.assert_array_equal(targets['heatmap'][0].numpy(), FIX[f'{key}_hm'])
    np.testing.assert_allclose(targets['wh'][0].numpy(), FIX[f'{key}_wh'], atol=1e-4)
    np.testing.assert_allclose(targets['offset'][0].numpy(), FIX[f'{key}_reg'], atol=1e-4)
    np.testing.assert_array_equal(targets['indices'][0].numpy(), FIX[f'{key}_ind'])
    np.testing.assert_array_equal(targets['mask'][0].numpy(), FIX[f'{key}_reg_mask'])


def test_training_fixture_covers_the_cases():
    """Flipped and unflipped samples, crowd boxes trained, max_objs reached."""
    flips = {bool(FIX[f'train{n}_random'][0] < 0.5) for n in range(6)}
    assert flips == {True, False}
    assert max(int(FIX[f'train{n}_reg_mask'].sum()) for n in range(6)) == 128


# ----------------------------------------------------------------------------- (b)
def our_view(img: np.ndarray, mode: str, scale: float, flip: bool = False) -> dict:
    steps = [TRANSFORMS.build(dict(type='CenterAffine', scale_ratio=scale, **MODES[mode])),
             TRANSFORMS.build(dict(type='RandomFlip', prob=1. if flip else 0.)),
             TRANSFORMS.build(dict(type='PackCenterNetInputs'))]
    results = dict(img=img.copy(), img_id=0, img_path='x.png', ori_shape=img.shape[:2],
                   img_shape=img.shape[:2])
    for step in steps:
        results = step(results)
    return results


def images():
    return [common.make_image(i, w, h) for i, (w, h) in enumerate(common.IMAGE_SIZES)]


@pytest.mark.parametrize('mode', sorted(MODES))
def test_pre_and_post_process_equal_official(mode):
    """Input warp + normalisation, and detections mapped back, at scales 0.5 ... 1.5."""
    decoder = TASK_UTILS.build(dict(type='CTDetCodec', num_classes=common.NUM_CLASSES))
    for i, img in enumerate(images()):
        for s in SCALES:
            key = f'pre_{mode}_{i}_{s}'
            view = our_view(img, mode, s)
            pad = 128 if mode == 'keep128' else 32
            batch = preprocessor(pad)(dict(inputs=[view['inputs']],
                                           data_samples=[view['data_samples']]), False)
            assert_input_equal(batch['inputs'][0], key)
            dets = torch.from_numpy(FIX[f'{key}_dets'])
            boxes = decoder.to_original(dict(bboxes=dets[None, :, :4] * 4),
                                        [view['data_samples'].metainfo])['bboxes'][0]
            order = np.argsort(dets[:, 5].numpy(), kind='stable')
            expected = FIX[f'{key}_post']
            np.testing.assert_array_equal(dets[order, 5].numpy(), expected[:, 5])
            np.testing.assert_allclose(boxes[order].numpy(), expected[:, :4], rtol=0,
                                       atol=2e-3)


def test_exact_backmap_differs_from_official_by_the_resize_rounding():
    """500 x 375 at 0.75: width 375 is exact, height int(281.25) = 281 is not."""
    img = images()[1]
    metas = [our_view(img, 'keep32', 0.75)['data_samples'].metainfo]
    exact = TRANSFORMS.build(dict(type='CenterAffine', keep_res=True, scale_ratio=0.75,
                                  backmap='exact'))(dict(img=img.copy()))
    corner = torch.tensor([[[360., 280.]]])
    decoder = TASK_UTILS.build(dict(type='CTDetCodec', num_classes=common.NUM_CLASSES))
    official = decoder.to_original(dict(bboxes=corner), metas)['bboxes'][0, 0]
    ours = decoder.to_original(dict(bboxes=corner), [exact])['bboxes'][0, 0]
    assert abs(float(ours[0] - official[0])) < 1e-3  # x: 375 / 500 is exactly 0.75
    assert 0.1 < float(ours[1] - official[1]) < 2  # y: 375 / 281 > 1 / 0.75


# ----------------------------------------------------------------------------- (c)
def tta_model(pad: int):
    model_cfg = copy.deepcopy(Config.fromfile(QUICKSTART).model.to_dict())
    model_cfg['data_preprocessor'].update(mean=MEAN, std=STD, pad_size_divisor=pad)
    model_cfg['bbox_head']['codec']['num_classes'] = common.NUM_CLASSES
    model = MODELS.build(dict(type='CenterNetTTAModel', module=model_cfg, merge='official',
                              max_per_img=100))
    net = common.MapNet().eval()
    names = dict(hm='heatmap', wh='wh', reg='offset')
    model.module.extract_feat = lambda inputs: inputs
    model.module.bbox_head.forward = lambda feats: [
        {names[k]: v for k, v in out.items()} for out in net(feats)]
    return model.eval()


RUN_CASES = dict(flip_keep32=('keep32', 32, (1.0, )), ms_keep32=('keep32', 32, SCALES),
                 ms_keep128=('keep128', 128, SCALES), ms_fix512=('fix512', 32,
                                                                 (0.75, 1.0, 1.25)))


def tta_views(img: np.ndarray, mode: str, scales) -> dict:
    data = dict(inputs=[], data_samples=[])
    for s in scales:
        for flip in (True, False):
            view = our_view(img, mode, s, flip)
            data['inputs'].append([view['inputs']])
            data['data_samples'].append([view['data_samples']])
    return data


@pytest.mark.parametrize('case', sorted(RUN_CASES))
def test_flip_and_multi_scale_test_equal_official(case):
    """keep_res (COCO), fix_res and the Hourglass padding (128), merged officially."""
    mode, pad, scales = RUN_CASES[case]
    model = tta_model(pad)
    for i, img in enumerate(images()[:2]):
        with torch.no_grad():
            pred = model.test_step(tta_views(img, mode, scales))[0].pred_instances
        expected = FIX[f'run_{case}_{i}']
        assert len(pred) == len(expected)
        np.testing.assert_array_equal(pred.labels.numpy(), expected[:, 5])
        np.testing.assert_allclose(pred.scores.numpy(), expected[:, 4], rtol=0, atol=2e-5)
        np.testing.assert_allclose(pred.bboxes.numpy(), expected[:, :4], rtol=0, atol=2e-3)


def test_multi_scale_fixture_has_stale_rows():
    """The official merge returns removed boxes' stale copies: duplicated boxes."""
    assert any(len(np.unique(FIX[f'run_ms_keep32_{i}'][:, :4], axis=0)) <
               len(FIX[f'run_ms_keep32_{i}']) for i in range(2))


def test_batch_padding_does_not_shift_flipped_maps():
    """The Hourglass bug: views padded to 32 in the pipeline and to 128 by the data
    preprocessor. The TTA model crops each view's maps to its own input, so the flip
    average lines up with the one without the extra padding (all but the last map column
    and row, which see the extra padding through the network's receptive field)."""
    img = images()[2]  # 427 x 640 -> a 448 x 672 view, padded to 512 x 768
    view, flipped = our_view(img, 'keep32', 1.0), our_view(img, 'keep32', 1.0, True)
    merged = {}
    for pad in (32, 128):
        model = tta_model(pad)
        head = model.module.bbox_head
        with torch.no_grad():
            maps = model._maps(dict(inputs=[view['inputs']], data_samples=[view['data_samples']]))
            fmaps = model._maps(dict(inputs=[flipped['inputs']],
                                     data_samples=[flipped['data_samples']]))
        assert maps['heatmap'].shape[-2:] == (672 // 4, 448 // 4)  # (n | 31) + 1
        merged[pad] = head.codec.flip_merge(maps, fmaps)['heatmap']
    inner = (slice(None), slice(None), slice(2, -2), slice(2, -2))
    torch.testing.assert_close(merged[128][inner], merged[32][inner])


# ----------------------------------------------------------------------------- (d)
HEAD_ARCHS = dict(msra=(256, 64), resdcn=(64, 64), dla=(64, 256), hourglass=(256, 256))


@pytest.mark.parametrize('arch', sorted(HEAD_ARCHS))
def test_head_initialisation_statistics_equal_official(arch):
    in_channels, feat = HEAD_ARCHS[arch]
    torch.manual_seed(0)
    head = MODELS.build(dict(
        type='CenterNetHead', in_channels=in_channels, feat_channels=feat, init_scheme=arch,
        branches=dict(heatmap=dict(out_channels=80, bias_init=-2.19),
                      wh=dict(out_channels=2), offset=dict(out_channels=2))))
    head.init_weights()
    for ours_name, official in (('heatmap', 'hm'), ('wh', 'wh'), ('offset', 'reg')):
        convs = [m for m in head.branches[ours_name][0].modules()
                 if isinstance(m, torch.nn.Conv2d)]
        for j, conv in enumerate(convs):
            stats = FIX[f'init_{arch}_{official}_{j}']
            w, b = conv.weight.detach().double(), conv.bias.detach().double()
            tol = 6 / np.sqrt(w.numel())
            assert abs(float(w.std()) - stats[1]) <= tol * stats[1], (arch, official, j)
            assert float(w.abs().max()) <= stats[2] * (1 + tol) + 1e-12
            if stats[4] == 0:  # a constant bias (-2.19 or 0)
                assert torch.all(b == stats[3]), (arch, official, j)
            else:  # PyTorch's default: uniform in +-1/sqrt(fan_in)
                bound = 1 / np.sqrt(stats[7])
                assert max(abs(stats[5]), abs(stats[6])) <= bound  # (the fixture's)
                assert float(b.std()) > 0 and float(b.abs().max()) <= bound


# ----------------------------------------------------------------------------- (e)
@pytest.mark.parametrize('t', range(12))
def test_soft_nms_equals_official_cython(t):
    arr = FIX[f'nms{t}_input']
    rows, extra, scores = official_soft_nms(
        arr[:, :4], arr[:, 4], iou_threshold=0.5, sigma=0.5,
        min_score=float(FIX[f'nms{t}_min_score']), method=str(FIX[f'nms{t}_method']))
    out5, out39 = FIX[f'nms{t}_out5'], FIX[f'nms{t}_out39']
    np.testing.assert_array_equal(arr[rows, :4], out5[:, :4])
    np.testing.assert_array_equal(scores, out5[:, 4])
    np.testing.assert_array_equal(arr[rows, :4], out39[:, :4])
    np.testing.assert_array_equal(arr[extra, 5:], out39[:, 5:])
