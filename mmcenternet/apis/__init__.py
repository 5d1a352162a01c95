from .inference import inference_detector, init_detector
from .mono3d import inference_mono3d, load_cam2img

__all__ = ['inference_detector', 'inference_mono3d', 'init_detector', 'load_cam2img']
