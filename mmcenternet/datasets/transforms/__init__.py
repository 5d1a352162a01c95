from .center_affine import CenterAffine, CenterNetColorAug  # noqa: F401
from .loading import LoadImageFromFileSafe  # noqa: F401
