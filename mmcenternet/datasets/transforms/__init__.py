from .center_affine import CenterAffine, CenterNetColorAug  # noqa: F401
from .formatting import CENTERNET_META_KEYS, PackCenterNetInputs  # noqa: F401
# each task's transform file registers its CenterAffine mapper and packed fields
from .keypoints import LoadPoseAnnotations, transform_keypoints  # noqa: F401
from .loading import LoadImageFromFileSafe  # noqa: F401
from .mono3d import LoadMono3DAnnotations  # noqa: F401
