"""mmcenternet: the CenterNet family of detectors as an MMDetection 3.x extension."""
from .utils.env_check import check_environment
from .version import __version__

check_environment()

# Checkpoints are always read with torch's weights_only=True; allow-list the few types that
# mmengine checkpoints hold and route mmengine's loaders (resume, load_from, Pretrained)
# through the safe loader.
from .utils.checkpoint import enable_safe_checkpoint_loading  # noqa: E402

enable_safe_checkpoint_loading()

__all__ = ['__version__']
