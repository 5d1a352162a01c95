from .inference import (build_test_pipeline, inference_batch, inference_detector,
                        init_detector)
from .predictor import (Predictor, add_predictor_arguments, predictor_from_args,
                        write_predictions)

__all__ = ['inference_detector', 'init_detector', 'inference_batch', 'build_test_pipeline',
           'Predictor', 'add_predictor_arguments', 'predictor_from_args',
           'write_predictions']
