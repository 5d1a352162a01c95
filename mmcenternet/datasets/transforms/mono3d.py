"""Loading and mirroring of monocular 3D annotations (KITTI)."""
import numpy as np
import torch
from mmdet.datasets.transforms import LoadAnnotations

from mmcenternet.registry import TRANSFORMS
from mmcenternet.structures.camera3d import project, wrap_angle

#: ``results`` keys of the per-object 3D annotations, with their dtypes.
MONO3D_FIELDS = dict(gt_bboxes_3d=('bbox_3d', np.float32, (-1, 7)),
                     gt_alphas=('alpha', np.float32, (-1, )),
                     gt_truncation=('truncation', np.float32, (-1, )),
                     gt_occlusion=('occlusion', np.int64, (-1, )),
                     gt_dontcare=('dontcare', bool, (-1, )))


@TRANSFORMS.register_module()
class LoadMono3DAnnotations(LoadAnnotations):
    """mmdet's ``LoadAnnotations`` (2D boxes and labels) plus the 3D fields of
    :class:`~mmcenternet.datasets.KittiMono3DDataset` instances.

    Adds ``gt_bboxes_3d (N, 7)``, ``gt_alphas``, ``gt_truncation``, ``gt_occlusion`` and
    ``gt_dontcare`` (ignore regions, see the dataset), which ``PackCenterNetInputs`` packs
    into ``gt_instances``. ``cam2img`` comes from the dataset entry itself.
    """

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault('with_bbox', True)
        kwargs.setdefault('with_label', True)
        super().__init__(**kwargs)

    def transform(self, results: dict) -> dict:
        results = super().transform(results)
        instances = results.get('instances', [])
        for key, (field, dtype, shape) in MONO3D_FIELDS.items():
            results[key] = np.array([inst[field] for inst in instances],
                                    dtype=dtype).reshape(shape)
        return results


def flip_mono3d_annotations(results: dict, width: int) -> None:
    """Mirrors the 3D annotations of an image flipped left-right (``u -> width - 1 - u``).

    The camera is not centered on the image (``cx != (width - 1) / 2``), so a mirrored
    scene seen by the same camera is not exactly the mirrored image. The flipped object keeps
    ``y`` and ``z`` and gets the ``x`` that ``P = cam2img`` projects to the mirrored column;
    ``alpha`` becomes ``pi - alpha`` (the mirrored observation angle) and ``rot_y = alpha +
    atan2(x, z)`` (KITTI's relation). ``cam2img`` becomes ``H P`` with ``H`` the image flip,
    so that, as for unflipped samples, ``affine_matrix @ cam2img`` (``affine_matrix``
    includes the flip) is the camera of the network input for these boxes. Ignore regions
    (``gt_dontcare``) keep their placeholders. The official 3D task never flips; this is
    an option.
    """
    from .center_affine import hflip_matrix  # (center_affine imports this module)
    boxes = torch.as_tensor(results['gt_bboxes_3d'], dtype=torch.float64).reshape(-1, 7)
    alphas = torch.as_tensor(results['gt_alphas'], dtype=torch.float64).reshape(-1)
    real = ~torch.as_tensor(results.get('gt_dontcare', np.zeros(len(alphas), bool)))
    cam = torch.as_tensor(results['cam2img'], dtype=torch.float64)[:3, :4]
    results['cam2img'] = hflip_matrix(width) @ cam.numpy()
    if len(boxes) == 0 or not bool(real.any()):
        return
    loc = boxes[:, :3]
    u_new = (width - 1) - project(loc, cam)[:, 0]
    # solve u_new = (P0 . X) / (P2 . X) for x, the other coordinates fixed
    rest0 = cam[0, 1] * loc[:, 1] + cam[0, 2] * loc[:, 2] + cam[0, 3]
    rest2 = cam[2, 1] * loc[:, 1] + cam[2, 2] * loc[:, 2] + cam[2, 3]
    x_new = (u_new * rest2 - rest0) / (cam[0, 0] - u_new * cam[2, 0])
    alpha_new = wrap_angle(np.pi - alphas)
    rot_new = wrap_angle(alpha_new + torch.atan2(x_new, loc[:, 2]))
    boxes[real, 0] = x_new[real]
    boxes[real, 6] = rot_new[real]
    alphas[real] = alpha_new[real]
    results['gt_bboxes_3d'] = boxes.numpy().astype(np.float32)
    results['gt_alphas'] = alphas.numpy().astype(np.float32)
