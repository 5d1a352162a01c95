"""Regenerates ``duan_triplet.npz``: targets, losses and detections computed by Duan et
al.'s Keypoint Triplets code (github.com/Duankaiwen/CenterNet, commit 3ad3a10), for
tests/test_models/test_duan_triplet_fidelity.py.

It imports Duan's functions from a checkout (nothing of it is kept in this repo)::

    python tests/data/make_duan_triplet_fixtures.py --duan-src /path/to/Duankaiwen/CenterNet \
        --nms-dir /path/to/compiled/nms

* Targets: Duan's ``sample/coco.py:kp_detection`` (``debug=True``: no random crop, flip or
  colour, so the boxes reach the target code as given) on square images of the input
  size, for its 511 -> 128 setting and a 255 -> 64 one.
* Losses: Duan's ``AELoss`` (``models/py_utils/kp.py``: ``_neg_loss``, ``_ae_loss``,
  ``_regr_loss``, pull/push 0.1) on random maps of two stacks against those targets.
* Detections: Duan's ``test/coco.py:kp_detection`` (single scale, with its flip) on one
  image, its network replaced by random maps that go through Duan's ``_decode``
  (``kp_utils.py``; top-k 70, AE threshold 0.5, 3x3 peaks); recorded are ``_decode``'s
  outputs, the input of each per-class soft-NMS (the detections after the central-region
  test, i.e. Duan's rescored candidates), its output and the final ``top_bboxes``.
  Duan's Cython ``soft_nms`` discards a box by overwriting it with the last one and
  shortening its count, but the caller ignores the returned ``keep`` and uses every row,
  so the final detections repeat some boxes (stale copies); the soft-NMS result proper is
  stored as the first ``len(keep)`` rows of each class.

The random maps are not stored: they are ``np.random.RandomState(seed)`` draws made by
:func:`random_maps`, which the tests call with the stored seeds (and check the stored sums).

Duan's C/C++ extensions are stubbed: the corner-pooling extension (only imported here) by
mmcv's ``CornerPool``, which computes the same; ``external/nms.pyx`` (soft-NMS, used by
the test code) must be compiled from Duan's source into ``--nms-dir``, e.g. with Cython in
a scratch venv::

    cp CenterNet/external/nms.pyx /tmp/nms/ && cd /tmp/nms
    # numpy 2 removed two typedefs used only by the plain nms() there:
    sed -i 's/np.float thresh/float thresh/; s/np\\.int_t/np.intp_t/g' nms.pyx
    cython -3 nms.pyx -o nms.c
    gcc -shared -fPIC -O2 \
        -I$(python -c "import sysconfig; print(sysconfig.get_paths()['include'])") \
        -I$(python -c "import numpy; print(numpy.get_include())") nms.c \
        -o nms$(python -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")
"""
import argparse
import importlib
import os
import os.path as osp
import sys
import tempfile
import types
from typing import Dict, Tuple

import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
NUM_CLASSES = 3
#: (input size, output size) of the target cases: Duan's and a smaller one.
TARGET_CASES = ((511, 128), (255, 64))
#: Shape (h, w) of the image of the detection case: Duan pads it to (h | 127, w | 127).
DECODE_IMAGE = (200, 300)
DECODE_SEED = 7
LOSS_SEED = 11
TOPK, AE_THRESHOLD, NMS_KERNEL = 70, 0.5, 3
#: Duan's ``_decode`` argument order.
DECODE_ORDER = ('tl_heatmap', 'br_heatmap', 'tl_embedding', 'br_embedding', 'tl_offset',
                'br_offset', 'ct_heatmap', 'ct_offset')


def map_channels(num_classes: int = NUM_CLASSES) -> Dict[str, int]:
    """Channels of each raw output map of a triplet head."""
    return dict(tl_heatmap=num_classes, br_heatmap=num_classes, ct_heatmap=num_classes,
                tl_embedding=1, br_embedding=1, tl_offset=2, br_offset=2, ct_offset=2)


def random_maps(seed: int, batch: int, height: int, width: int,
                num_classes: int = NUM_CLASSES) -> Dict[str, np.ndarray]:
    """Raw (pre-sigmoid) head maps, float32 ``(batch, C, height, width)``, from ``seed``."""
    rng = np.random.RandomState(seed)
    maps = {}
    for name, channels in map_channels(num_classes).items():
        value = rng.standard_normal((batch, channels, height, width))
        if name.endswith('heatmap'):
            value = value * 2 - 2  # mostly low scores with some confident peaks
        elif name.endswith('offset'):
            value = value * 0.3 + 0.5
        else:  # embeddings: close enough that many pairs pass the 0.5 threshold
            value = value * 0.25
        maps[name] = value.astype(np.float32)
    return maps


def make_boxes(rng: np.random.RandomState, size: int) -> Tuple[np.ndarray, np.ndarray]:
    """Boxes in input pixels (float32 values): varied sizes and classes, overlaps, a
    duplicate, some crossing the image border and one outside it (dropped)."""
    n = rng.randint(8, 14)
    cx = rng.uniform(-0.05 * size, 1.05 * size, n)
    cy = rng.uniform(-0.05 * size, 1.05 * size, n)
    w = np.exp(rng.uniform(np.log(2.0), np.log(size * 0.7), n))
    h = w * np.exp(rng.uniform(-0.7, 0.7, n))
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1).astype(np.float32)
    boxes[0] = boxes[1]  # an exact duplicate
    boxes[2] = [size + 3, 10, size + 30, 40]  # right of the image: no area after clipping
    boxes[3] = [0.4, 0.6, 0.9, 1.3]  # sub-pixel
    labels = rng.randint(0, NUM_CLASSES, n)
    return boxes, labels


# ----------------------------------------------------------------------------- stubs
def install_stubs(nms_dir: str) -> None:
    """Stands in for Duan's compiled extensions and for matplotlib (debug drawing only)."""
    import torch
    from mmcv.ops import CornerPool

    def pool_class(mode: str) -> type:
        class Pool(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.pool = CornerPool(mode)

            def forward(self, x):
                return self.pool(x)
        Pool.__name__ = f'{mode.capitalize()}Pool'
        return Pool

    cpools = types.ModuleType('models.py_utils._cpools')
    for mode in ('top', 'bottom', 'left', 'right'):
        cls = pool_class(mode)
        setattr(cpools, cls.__name__, cls)
    sys.modules['models.py_utils._cpools'] = cpools
    for name in ('matplotlib', 'matplotlib.pyplot'):
        sys.modules[name] = types.ModuleType(name)
    sys.modules['matplotlib'].pyplot = sys.modules['matplotlib.pyplot']
    sys.path.insert(0, nms_dir)
    external = types.ModuleType('external')
    external.nms = importlib.import_module('nms')  # Duan's nms.pyx, compiled
    sys.modules['external'] = external
    sys.modules['external.nms'] = external.nms


class TrainDB:
    """What ``sample/coco.py:kp_detection`` reads from Duan's ``db``."""

    def __init__(self, image_files, detections, input_size: int, output_size: int) -> None:
        self.image_files = image_files
        self._detections = detections
        self.db_inds = np.arange(len(image_files))
        self.configs = dict(
            categories=NUM_CLASSES, input_size=[input_size, input_size],
            output_sizes=[[output_size, output_size]], border=128, lighting=True,
            rand_crop=True, rand_color=True, rand_scales=None, gaussian_bump=True,
            gaussian_iou=0.7, gaussian_radius=-1)

    def image_file(self, ind):
        return self.image_files[ind]

    def detections(self, ind):
        return self._detections[ind].copy()


class TestDB:
    """What ``test/coco.py:kp_detection`` reads from Duan's ``db``; keeps its results."""

    split = 'minival'

    def __init__(self, image_file: str) -> None:
        self._image_file = image_file
        self.db_inds = np.arange(1)
        self.mean = np.array([0.40789654, 0.44719302, 0.47026115], dtype=np.float32)
        self.std = np.array([0.28863828, 0.27408164, 0.27809835], dtype=np.float32)
        self.configs = dict(
            top_k=TOPK, ae_threshold=AE_THRESHOLD, nms_kernel=NMS_KERNEL, test_scales=[1],
            weight_exp=8, merge_bbox=False, categories=NUM_CLASSES, nms_threshold=0.5,
            max_per_image=100, nms_algorithm='exp_soft_nms')
        self.top_bboxes = None

    def image_ids(self, ind):
        return ind

    def image_file(self, ind):
        return self._image_file

    def convert_to_coco(self, top_bboxes):
        self.top_bboxes = {k: {c: v.copy() for c, v in d.items()} for k, d in top_bboxes.items()}
        return []

    def evaluate(self, *args):
        return None


# ----------------------------------------------------------------------------- cases
def targets_case(data: dict, tmp: str, input_size: int, output_size: int, seed: int) -> dict:
    """Duan's training targets for two images of random boxes; returns them."""
    import cv2
    from config import system_configs  # Duan's
    from sample.coco import kp_detection  # Duan's

    rng = np.random.RandomState(seed)
    files, dets, prefix = [], [], f'targets_{input_size}'
    for i in range(2):
        boxes, labels = make_boxes(rng, input_size)
        path = osp.join(tmp, f'{prefix}_{i}.png')
        cv2.imwrite(path, np.full((input_size, input_size, 3), 127, np.uint8))
        files.append(path)
        dets.append(np.concatenate([boxes.astype(np.float64), labels[:, None] + 1.], 1))
        data[f'{prefix}_boxes_{i}'] = boxes
        data[f'{prefix}_labels_{i}'] = labels
    system_configs.update_config(dict(batch_size=2))
    sample, _ = kp_detection(TrainDB(files, dets, input_size, output_size), 0, False, True)
    names = ('tl_heatmap', 'br_heatmap', 'ct_heatmap', 'mask', 'tl_offset', 'br_offset',
             'ct_offset')
    targets = dict(zip(names, (t.numpy() for t in sample['ys'])))
    targets.update(zip(('tl_indices', 'br_indices', 'ct_indices'),
                       (t.numpy() for t in sample['xs'][1:])))
    data[f'{prefix}_sizes'] = np.array([input_size, output_size])
    for key, value in targets.items():
        data[f'{prefix}_{key}'] = value
    return targets


def loss_case(data: dict, targets: dict, output_size: int) -> None:
    """Duan's AELoss (CenterNet-104: two stacks, pull/push 0.1) on random maps."""
    import torch
    from models.py_utils.kp import AELoss  # Duan's
    from models.py_utils.kp_utils import _neg_loss, _tranpose_and_gather_feat  # Duan's

    outs = []
    for stack in range(2):
        maps = {k: torch.from_numpy(v) for k, v in
                random_maps(LOSS_SEED + stack, 2, output_size, output_size).items()}
        data[f'loss_map_sum_{stack}'] = sum(float(v.double().sum()) for v in maps.values())
        inds = {k: torch.from_numpy(targets[f'{k}_indices']) for k in ('tl', 'br', 'ct')}
        outs += [maps['tl_heatmap'], maps['br_heatmap'], maps['ct_heatmap'],
                 _tranpose_and_gather_feat(maps['tl_embedding'], inds['tl']),
                 _tranpose_and_gather_feat(maps['br_embedding'], inds['br']),
                 _tranpose_and_gather_feat(maps['tl_offset'], inds['tl']),
                 _tranpose_and_gather_feat(maps['br_offset'], inds['br']),
                 _tranpose_and_gather_feat(maps['ct_offset'], inds['ct'])]
    ys = [torch.from_numpy(targets[k]) for k in ('tl_heatmap', 'br_heatmap', 'ct_heatmap')]
    ys += [torch.from_numpy(targets['mask'])]  # uint8, as Duan's sampler gives it
    ys += [torch.from_numpy(targets[k]) for k in ('tl_offset', 'br_offset', 'ct_offset')]
    loss, focal, pull, push, regr = AELoss(pull_weight=1e-1, push_weight=1e-1,
                                           focal_loss=_neg_loss)(outs, ys)
    data['loss_values'] = np.array([float(v) for v in (loss, focal, pull, push, regr)])


def decode_case(data: dict, tmp: str) -> None:
    """Duan's single-scale test (with its flip) on one image, network = random maps."""
    import cv2
    import torch
    import external.nms as duan_nms  # Duan's, compiled
    from models.py_utils.kp_utils import _decode  # Duan's
    test_coco = importlib.import_module('test.coco')  # Duan's test/coco.py

    height, width = DECODE_IMAGE
    inp_h, inp_w = height | 127, width | 127
    out_h, out_w = (inp_h + 1) // 4, (inp_w + 1) // 4
    maps = random_maps(DECODE_SEED, 2, out_h, out_w)  # [image, its mirror]
    data['decode_map_sum'] = sum(float(v.astype(np.float64).sum()) for v in maps.values())
    data['decode_sizes'] = np.array([height, width, inp_h, inp_w, out_h, out_w])
    recorded = dict(decode=None, nms_in=[], nms_out=[], nms_keep=[])

    class Net:
        def test(self, xs, ae_threshold, K, kernel):
            assert tuple(xs[0].shape) == (2, 3, inp_h, inp_w), xs[0].shape
            args = [torch.from_numpy(maps[name]) for name in DECODE_ORDER]
            dets, center = _decode(*args, K=K, kernel=kernel, ae_threshold=ae_threshold)
            recorded['decode'] = (dets.numpy().copy(), center.numpy().copy())
            return dets, center

    real_soft_nms = duan_nms.soft_nms

    def soft_nms(boxes, **kwargs):
        recorded['nms_in'].append(boxes.copy())
        keep = real_soft_nms(boxes, **kwargs)
        recorded['nms_out'].append(boxes.copy())
        recorded['nms_keep'].append(len(keep))
        return keep

    test_coco.soft_nms = soft_nms
    image_file = osp.join(tmp, 'decode.png')
    cv2.imwrite(image_file, np.full((height, width, 3), 90, np.uint8))
    db = TestDB(image_file)
    test_coco.kp_detection(db, Net(), tmp)
    dets, center = recorded['decode']
    data['decode_dets'] = dets  # (2, 1000, 8): x1 y1 x2 y2 score tl br class (output px)
    data['decode_centers'] = center  # (2, K, 4): x y class score
    rescored = np.concatenate([b for b in recorded['nms_in']])
    data['rescored'] = rescored[:, :5]  # candidates that passed the central-region test
    data['rescored_labels'] = np.concatenate(
        [np.full(len(b), c) for c, b in enumerate(recorded['nms_in'])])
    # Duan's soft_nms overwrites a discarded box with the last one and the caller ignores
    # ``keep``: rows from ``keep`` on are stale copies. The first ``keep`` rows are the
    # soft-NMS result proper.
    data['soft_nms'] = np.concatenate([b[:n, :5] for b, n in zip(recorded['nms_out'],
                                                                  recorded['nms_keep'])])
    data['soft_nms_labels'] = np.concatenate(
        [np.full(n, c) for c, n in enumerate(recorded['nms_keep'])])
    data['soft_nms_stale_rows'] = np.array(sum(len(b) for b in recorded['nms_out'])
                                           - sum(recorded['nms_keep']))
    final = [(c - 1, b) for c, b in db.top_bboxes[0].items()]
    data['final'] = np.concatenate([b for _, b in final])
    data['final_labels'] = np.concatenate([np.full(len(b), c) for c, b in final])
    from utils import crop_image  # Duan's
    _, border, _ = crop_image(np.zeros((height, width, 3)), [height // 2, width // 2],
                              [inp_h, inp_w])
    data['border'] = np.array([border[0], border[2]])  # top, left padding


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--duan-src', required=True, help='checkout of Duankaiwen/CenterNet')
    parser.add_argument('--nms-dir', required=True,
                        help='folder with Duan\'s external/nms.pyx compiled (see above)')
    parser.add_argument('--out', default=osp.join(HERE, 'duan_triplet.npz'))
    args = parser.parse_args()
    sys.path.insert(0, args.duan_src)
    install_stubs(args.nms_dir)
    data = {}
    with tempfile.TemporaryDirectory() as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)  # Duan's config creates its result folders relative to the cwd
        try:
            for case, (input_size, output_size) in enumerate(TARGET_CASES):
                targets = targets_case(data, tmp, input_size, output_size, seed=2019 + case)
                if case == 0:
                    loss_case(data, targets, output_size)
            decode_case(data, tmp)
        finally:
            os.chdir(cwd)
    np.savez_compressed(args.out, **data)
    print(f'wrote {args.out} ({osp.getsize(args.out) / 1024:.0f} KiB, {len(data)} arrays)')


if __name__ == '__main__':
    main()
