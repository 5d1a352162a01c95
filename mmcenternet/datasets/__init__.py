from .transforms import *  # noqa: F401,F403
from .coco import CenterNetCocoDataset  # noqa: F401
from .coco_pose import CocoPoseDataset  # noqa: F401
from .kitti_mono3d import KittiMono3DDataset  # noqa: F401
from .voc import CenterNetVOCDataset  # noqa: F401
from .wider_face import WiderFaceDataset  # noqa: F401
