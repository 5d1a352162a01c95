"""Small KITTI-format folders for the 3D tests (test helper)."""
import os
import os.path as osp
from typing import Dict, Optional, Sequence

import cv2
import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DDD_FIXTURES = osp.join(ROOT, 'tests', 'data', 'official_ddd.npz')
# A real KITTI P2 (training/calib/000000.txt).
KITTI_P2 = np.array([[7.215377e+02, 0., 6.095593e+02, 4.485728e+01],
                     [0., 7.215377e+02, 1.728540e+02, 2.163791e-01],
                     [0., 0., 1., 2.745884e-03]])


def calib_text(p2: np.ndarray) -> str:
    """A KITTI calibration file with ``p2`` (the other matrices are dummies)."""
    eye = '1 0 0 0 0 1 0 0 0 0 1 0'
    p2_text = ' '.join(f'{v:.12e}' for v in np.asarray(p2, np.float64).reshape(-1))
    return (f'P0: {eye}\nP1: {eye}\nP2: {p2_text}\nP3: {eye}\nR0_rect: 1 0 0 0 1 0 0 0 1\n'
            f'Tr_velo_to_cam: {eye}\nTr_imu_to_velo: {eye}\n')


def write_kitti(root: str, samples: Dict[str, dict], split: str = 'train',
                split_dir: str = 'ImageSets') -> str:
    """Writes ``training/{image_2,label_2,calib}`` and ``<split_dir>/<split>.txt``.

    Args:
        samples: ``{sample id: dict(labels=str or None, shape=(h, w), p2=3x4,
            image=optional array)}``.

    Returns:
        ``root``.
    """
    for sub in ('image_2', 'label_2', 'calib'):
        os.makedirs(osp.join(root, 'training', sub), exist_ok=True)
    os.makedirs(osp.join(root, split_dir), exist_ok=True)
    for sample, spec in samples.items():
        image = spec.get('image')
        if image is None:
            h, w = spec.get('shape', (48, 160))
            image = np.full((h, w, 3), 90, np.uint8)
        cv2.imwrite(osp.join(root, 'training', 'image_2', sample + '.png'), image)
        with open(osp.join(root, 'training', 'calib', sample + '.txt'), 'w') as f:
            f.write(calib_text(spec.get('p2', KITTI_P2)))
        if spec.get('labels') is not None:
            with open(osp.join(root, 'training', 'label_2', sample + '.txt'), 'w') as f:
                f.write(spec['labels'])
    with open(osp.join(root, split_dir, split + '.txt'), 'w') as f:
        f.write('\n'.join(samples) + '\n')
    return root


def dataset_cfg(root: str, split: str = 'train', pipeline: Optional[Sequence[dict]] = None,
                split_dir: str = 'ImageSets', **kwargs) -> dict:
    """A ``KittiMono3DDataset`` config over :func:`write_kitti`'s folders."""
    return dict(type='KittiMono3DDataset', data_root=root, ann_file=f'{split_dir}/{split}.txt',
                pipeline=list(pipeline or []), **kwargs)


def fixture_scene(fixtures, index: int) -> dict:
    """The label text, image shape and P2 of scene ``index`` of ``official_ddd.npz``."""
    return dict(labels=str(fixtures[f'{index}_labels']),
                shape=tuple(int(v) for v in fixtures[f'{index}_shape']),
                p2=np.asarray(fixtures[f'{index}_calib'], np.float64))



def load_kitti_generator():
    """Imports tools/misc/gen_toy_kitti.py (a script, not a package module)."""
    from test_tools.toy_workspace import load_generator
    return load_generator('gen_toy_kitti')
