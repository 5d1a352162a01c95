"""Build cases of the monocular 3D (ddd) modules."""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from test_tools.kitti_workspace import dataset_cfg, write_kitti  # noqa: E402

LABELS = ('Car 0.00 0 -1.58 587.01 173.33 614.12 200.12 1.65 1.67 3.64 -0.65 1.71 46.70 '
          '-1.59\nDontCare -1 -1 -10 503.89 169.71 590.61 190.13 -1 -1 -1 -1000 -1000 -1000 '
          '-10\n')


def kitti_dataset(tmp):
    root = write_kitti(str(tmp / 'kitti'), {'000000': dict(labels=LABELS, shape=(40, 120))})
    return dataset_cfg(root)


CASES = {
    ('MODELS', 'BinRotLoss'): lambda tmp: dict(type='BinRotLoss', loss_weight=1.0),
    ('TASK_UTILS', 'DDDCodec'): lambda tmp: dict(type='DDDCodec', num_classes=3, topk=10,
                                                 center_mode='projected', box_mode='corrected'),
    ('TRANSFORMS', 'LoadMono3DAnnotations'): lambda tmp: dict(type='LoadMono3DAnnotations'),
    ('DATASETS', 'KittiMono3DDataset'): kitti_dataset,
    ('METRICS', 'KittiMetric'): lambda tmp: dict(type='KittiMetric', metric=['bbox', '3d']),
}
