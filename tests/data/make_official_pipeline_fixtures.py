"""Regenerates ``official_pipeline.npz``: the whole official ctdet sample and test paths.

Runs the official CenterNet code (github.com/xingyizhou/CenterNet @ 4c50fd3, ``src/lib``) on
the images, annotations and stand-in network of ``official_pipeline_common.py`` and stores
what it produces, for ``tests/test_models/test_official_pipeline.py``:

(a) ``CTDetDataset.__getitem__`` training samples (random scale / crop / flip, colour
    augmentation, normalisation, targets, ``max_objs``) on real-size images, with every
    random draw recorded so the tests can replay them into our transforms;
(b) ``BaseDetector.pre_process`` + ``CtdetDetector.post_process`` (``ctdet_post_process``) at
    scales 0.5 ... 1.5 for ``keep_res`` (pad 32), ``fix_res`` (512) and Hourglass (pad 128);
(c) ``BaseDetector.run``: flip test and multi-scale test merged by ``merge_outputs`` with the
    official Cython soft-NMS, keep_res pad 32 and pad 128;
(d) head initialisation of ``msra_resnet``, ``resnet_dcn``, ``pose_dla_dcn`` and
    ``large_hourglass`` (statistics of every head conv);
(e) the Cython ``soft_nms`` / ``soft_nms_39`` on random boxes (with removals and ties).

Nothing of the official code is kept in this repository. Usage (needs Cython for
``external/nms.pyx``; ``pip install --target /tmp/cy cython`` and add it to PYTHONPATH)::

    python tests/data/make_official_pipeline_fixtures.py --official-src /path/to/CenterNet/src/lib

Stubs: the DCNv2 C extension (a plain conv with the official parameter names), ``torchvision``
(imported but unused by ``models/model.py``), ``progress`` (the progress bar),
``model_zoo.load_url`` (ImageNet downloads) and ``torch.cuda.synchronize``. The official
``nms.pyx`` is compiled from a copy in a temporary directory where ``np.int_t`` (removed from
numpy 2's headers, used only by the hard ``nms`` function that is not called) is replaced by
``np.intp_t``.
"""
import argparse
import os
import os.path as osp
import random
import shutil
import subprocess
import sys
import tempfile
import types
from types import SimpleNamespace

import numpy as np
import torch

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
import official_pipeline_common as common  # noqa: E402

SCALES = (0.5, 0.75, 1.0, 1.25, 1.5)
PRE_MODES = dict(keep32=dict(fix_res=False, pad=31), fix512=dict(fix_res=True, pad=31),
                 keep128=dict(fix_res=False, pad=127))
SUBSAMPLE = 8  # training inputs are stored every 8th pixel (plus whole-image sums)
PRE_SUBSAMPLE = 16  # test inputs (45 of them) every 16th
NUM_TRAIN_SAMPLES = 6


def install_stubs() -> None:
    """Modules the official imports need but that cannot be built or are unused here."""
    import torch.nn as nn

    class DCN(nn.Module):  # DCNv2.dcn_v2.DCN's parameters; forward is never called
        def __init__(self, cin, cout, kernel_size, stride, padding, dilation=1,
                     deformable_groups=1):
            super().__init__()
            k = kernel_size if isinstance(kernel_size, int) else kernel_size[0]
            self.weight = nn.Parameter(torch.empty(cout, cin, k, k))
            self.bias = nn.Parameter(torch.zeros(cout))
            self.conv_offset_mask = nn.Conv2d(cin, 3 * k * k, k, stride, padding, bias=True)
            stdv = 1. / np.sqrt(cin * k * k)
            self.weight.data.uniform_(-stdv, stdv)
            self.conv_offset_mask.weight.data.zero_()
            self.conv_offset_mask.bias.data.zero_()

    dcn_pkg = types.ModuleType('models.networks.DCNv2')
    dcn_mod = types.ModuleType('models.networks.DCNv2.dcn_v2')
    dcn_mod.DCN = DCN
    sys.modules['models.networks.DCNv2'] = dcn_pkg
    sys.modules['models.networks.DCNv2.dcn_v2'] = dcn_mod
    tv = types.ModuleType('torchvision')
    tv.models = types.ModuleType('torchvision.models')
    sys.modules.setdefault('torchvision', tv)
    sys.modules.setdefault('torchvision.models', tv.models)
    progress = types.ModuleType('progress')
    progress.bar = types.ModuleType('progress.bar')
    progress.bar.Bar = object
    sys.modules.setdefault('progress', progress)
    sys.modules.setdefault('progress.bar', progress.bar)
    torch.cuda.synchronize = lambda *a, **k: None
    import torch.utils.model_zoo as model_zoo
    model_zoo.load_url = lambda *a, **k: {}


def build_nms(official_src: str, work: str) -> types.ModuleType:
    """Compiles the official ``external/nms.pyx`` in ``work`` and imports it."""
    shutil.copy(osp.join(official_src, 'external', 'nms.pyx'), work)
    path = osp.join(work, 'nms.pyx')
    text = open(path).read().replace('np.int_t', 'np.intp_t')
    open(path, 'w').write(text)
    with open(osp.join(work, 'setup.py'), 'w') as f:
        f.write('from setuptools import setup, Extension\n'
                'from Cython.Build import cythonize\nimport numpy as np\n'
                "setup(ext_modules=cythonize([Extension('nms', ['nms.pyx'], include_dirs="
                "[np.get_include()])], language_level=2))\n")
    subprocess.run([sys.executable, 'setup.py', 'build_ext', '--inplace', '-q'], cwd=work,
                   check=True, env=dict(os.environ))
    sys.path.insert(0, work)
    import nms
    sys.modules['external.nms'] = nms  # where detectors/ctdet.py imports it from
    return nms


def store_input(data: dict, key: str, inp: np.ndarray, step: int = SUBSAMPLE) -> None:
    """A (C, H, W) input: every ``step``-th pixel, its shape and float64 sums."""
    data[f'{key}_sub'] = inp[:, ::step, ::step].astype(np.float32)
    data[f'{key}_step'] = np.array(step)
    data[f'{key}_shape'] = np.array(inp.shape)
    data[f'{key}_sum'] = inp.astype(np.float64).sum(axis=(1, 2))
    data[f'{key}_sumsq'] = (inp.astype(np.float64) ** 2).sum(axis=(1, 2))


# ----------------------------------------------------------------------------- (a) training
def training_samples(data: dict, root: str, ann_path: str) -> None:
    import pycocotools.coco as coco
    import utils.image as image_mod
    from datasets.sample.ctdet import CTDetDataset

    class Sample(CTDetDataset):
        pass

    ds = Sample()
    ds.coco = coco.COCO(ann_path)
    ds.images = ds.coco.getImgIds()
    ds.img_dir = osp.join(root, 'images')
    ds.max_objs = 128
    ds.num_classes = common.NUM_CLASSES
    ds.cat_ids = {c: i for i, c in enumerate(common.CATEGORY_IDS)}
    ds.mean = np.array(common.COCO_MEAN, np.float32).reshape(1, 1, 3)
    ds.std = np.array(common.COCO_STD, np.float32).reshape(1, 1, 3)
    ds._eig_val = np.array([0.2141788, 0.01817699, 0.00341571], np.float32)
    ds._eig_vec = np.array([[-0.58752847, -0.69563484, 0.41340352],
                            [-0.5832747, 0.00994535, -0.81221408],
                            [-0.56089297, 0.71832671, 0.41158938]], np.float32)
    ds.split = 'train'
    ds.opt = SimpleNamespace(keep_res=False, pad=31, input_h=512, input_w=512,
                             not_rand_crop=False, flip=0.5, no_color_aug=False, down_ratio=4,
                             mse_loss=False, dense_wh=False, cat_spec_wh=False,
                             reg_offset=True, debug=0, hm_gauss=4)
    names = ('brightness_', 'contrast_', 'saturation_')
    for n in range(NUM_TRAIN_SAMPLES):
        index = n % len(ds.images)
        np.random.seed(1000 + n)
        random.seed(1000 + n)
        ds._data_rng = common.DrawRecorder(np.random.RandomState(2000 + n))
        global_rec = common.DrawRecorder(np.random.mtrand._rand)
        saved = {k: getattr(np.random, k) for k in ('choice', 'randint', 'random')}
        saved_shuffle = image_mod.random.shuffle
        order = []

        def shuffle(items, _orig=saved_shuffle):
            _orig(items)
            order.append([names.index(f.__name__) for f in items])
        for k in saved:
            setattr(np.random, k, getattr(global_rec, k))
        image_mod.random.shuffle = shuffle
        try:
            ret = ds[index]
        finally:
            for k, fn in saved.items():
                setattr(np.random, k, fn)
            image_mod.random.shuffle = saved_shuffle
        draws = dict(global_rec.draws)
        draws.update(ds._data_rng.draws)
        key = f'train{n}'
        data[f'{key}_index'] = np.array(index)
        data[f'{key}_choice'] = np.array(draws['choice'], np.float64)
        data[f'{key}_randint'] = np.array(draws['randint'], np.int64)
        data[f'{key}_random'] = np.array(draws['random'], np.float64)
        data[f'{key}_permutation'] = np.array(order[0], np.int64)
        data[f'{key}_uniform'] = np.array(draws['uniform'], np.float64)
        data[f'{key}_normal'] = np.array(draws['normal'][0], np.float64)
        store_input(data, f'{key}_inp', ret['input'])
        for name in ('hm', 'wh', 'reg', 'ind', 'reg_mask'):
            data[f'{key}_{name}'] = ret[name]


# ----------------------------------------------------------------------------- (b), (c)
def make_detector(mode: dict, net, scales, flip_test: bool):
    from detectors.ctdet import CtdetDetector
    det = CtdetDetector.__new__(CtdetDetector)
    det.opt = SimpleNamespace(fix_res=mode['fix_res'], pad=mode['pad'], input_h=512,
                              input_w=512, down_ratio=4, flip_test=flip_test, K=100,
                              reg_offset=True, cat_spec_wh=False, nms=False, debug=0,
                              num_classes=common.NUM_CLASSES, dataset='coco',
                              debugger_theme='white', test_scales=list(scales),
                              device=torch.device('cpu'))
    det.mean = np.array(common.COCO_MEAN, np.float32).reshape(1, 1, 3)
    det.std = np.array(common.COCO_STD, np.float32).reshape(1, 1, 3)
    det.max_per_image = 100
    det.num_classes = common.NUM_CLASSES
    det.scales = list(scales)
    det.model = net
    det.pause = False
    return det


def pre_post(data: dict, images) -> None:
    rng = np.random.RandomState(7)
    for mode_name, mode in PRE_MODES.items():
        det = make_detector(mode, None, SCALES, flip_test=False)
        for i, img in enumerate(images):
            for s in SCALES:
                key = f'pre_{mode_name}_{i}_{s}'
                inp, meta = det.pre_process(img, s)
                store_input(data, key, inp[0].numpy(), PRE_SUBSAMPLE)
                data[f'{key}_c'] = np.asarray(meta['c'], np.float64)
                data[f'{key}_s'] = np.asarray(meta['s'], np.float64)
                out_h, out_w = meta['out_height'], meta['out_width']
                k = 100
                cxy = rng.uniform(0, 1, (k, 2)) * [out_w, out_h]
                wh = np.exp(rng.uniform(np.log(1), np.log(out_w / 2), (k, 2)))
                dets = np.concatenate([cxy - wh / 2, cxy + wh / 2, rng.uniform(0, 1, (k, 1)),
                                       rng.randint(0, common.NUM_CLASSES, (k, 1))], 1)
                dets = torch.from_numpy(dets[None].astype(np.float32))
                data[f'{key}_dets'] = dets[0].numpy()
                data[f'{key}_post'] = common.detections_by_class(
                    det.post_process(dets, meta, s))


def run_tests(data: dict, images) -> None:
    net = common.MapNet().eval()
    cases = dict(flip_keep32=(PRE_MODES['keep32'], (1.0, )),
                 ms_keep32=(PRE_MODES['keep32'], SCALES),
                 ms_keep128=(PRE_MODES['keep128'], SCALES),
                 ms_fix512=(PRE_MODES['fix512'], (0.75, 1.0, 1.25)))
    for name, (mode, scales) in cases.items():
        det = make_detector(mode, net, scales, flip_test=True)
        for i, img in enumerate(images[:2]):
            out = det.run(img)
            data[f'run_{name}_{i}'] = common.detections_by_class(out['results'])


# ----------------------------------------------------------------------------- (d)
def head_init(data: dict) -> None:
    from models.networks.large_hourglass import get_large_hourglass_net
    from models.networks.msra_resnet import get_pose_net as msra
    from models.networks.pose_dla_dcn import DLASeg
    from models.networks.resnet_dcn import get_pose_net as resdcn
    heads = dict(hm=80, wh=2, reg=2)
    torch.manual_seed(0)
    nets = dict(msra=msra(18, dict(heads), 64), resdcn=resdcn(18, dict(heads), 64),
                dla=DLASeg('dla34', dict(heads), pretrained=False, down_ratio=4,
                           final_kernel=1, last_level=5, head_conv=256),
                hourglass=get_large_hourglass_net(0, dict(heads), 64))
    for arch, net in nets.items():
        for head in heads:
            module = getattr(net, head)
            stacks = list(module) if arch == 'hourglass' else [module]
            convs = [m for m in stacks[0].modules() if isinstance(m, torch.nn.Conv2d)]
            for j, conv in enumerate(convs):
                key = f'init_{arch}_{head}_{j}'
                w, b = conv.weight.detach().double(), conv.bias.detach().double()
                data[key] = np.array([w.mean(), w.std(), w.abs().max(), b.mean(), b.std(),
                                      b.min(), b.max(), w[0].numel()])


# ----------------------------------------------------------------------------- (e)
def soft_nms_cases(data: dict, nms) -> None:
    rng = np.random.RandomState(11)
    for t in range(12):
        n = int(rng.randint(20, 120))
        xy = rng.uniform(0, 300, (n, 2))
        wh = rng.uniform(2, 120, (n, 2))
        boxes = np.concatenate([xy, xy + wh], 1).astype(np.float32)
        boxes[rng.randint(0, n, n // 5)] = boxes[0]  # duplicates
        scores = rng.uniform(0, 1, n).astype(np.float32) ** (1 + t % 3)
        if t % 4 == 0:
            scores[: n // 2] = scores[0]  # ties
        extra = rng.uniform(0, 300, (n, 34)).astype(np.float32)
        method = ('gaussian', 'linear', 'naive')[t % 3]
        min_score = (0.001, 0.05)[t % 2]
        code = dict(naive=0, linear=1, gaussian=2)[method]
        arr5 = np.concatenate([boxes, scores[:, None]], 1).copy()
        nms.soft_nms(arr5, sigma=0.5, Nt=0.5, threshold=min_score, method=code)
        arr39 = np.concatenate([boxes, scores[:, None], extra], 1).copy()
        nms.soft_nms_39(arr39, sigma=0.5, Nt=0.5, threshold=min_score, method=code)
        data[f'nms{t}_input'] = np.concatenate([boxes, scores[:, None], extra], 1)
        data[f'nms{t}_method'] = np.array(method)
        data[f'nms{t}_min_score'] = np.array(min_score)
        data[f'nms{t}_out5'] = arr5
        data[f'nms{t}_out39'] = arr39


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--official-src', required=True, help='CenterNet/src/lib')
    parser.add_argument('--out', default=osp.join(HERE, 'official_pipeline.npz'))
    args = parser.parse_args()
    sys.path.insert(0, args.official_src)
    install_stubs()
    work = tempfile.mkdtemp(prefix='official_pipeline_')
    try:
        nms = build_nms(args.official_src, work)
        ann_path = common.write_dataset(osp.join(work, 'data'))
        import cv2
        images = [cv2.imread(osp.join(work, 'data', 'images', f'{i:03d}.png'))
                  for i in range(len(common.IMAGE_SIZES))]
        data = {}
        training_samples(data, osp.join(work, 'data'), ann_path)
        pre_post(data, images)
        run_tests(data, images)
        head_init(data)
        soft_nms_cases(data, nms)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    np.savez_compressed(args.out, **data)
    print(f'wrote {args.out} ({len(data)} arrays, {osp.getsize(args.out) / 1e6:.2f} MB)')


if __name__ == '__main__':
    main()
