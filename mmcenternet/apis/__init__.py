from .inference import (build_test_pipeline, inference_batch, inference_detector,
                        init_backend_detector, init_detector, load_cam2img)
from .predictor import (Predictor, add_predictor_arguments, predictor_from_args,
                        write_predictions)

__all__ = ['Predictor', 'add_predictor_arguments', 'build_test_pipeline', 'inference_batch',
           'inference_detector', 'init_backend_detector', 'init_detector', 'load_cam2img',
           'predictor_from_args', 'write_predictions']
