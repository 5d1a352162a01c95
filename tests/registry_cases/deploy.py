"""Build cases of the deployment modules (issue 13)."""
from test_deploy.helpers import write_constant_detector


def _ort_detector(tmp):
    return dict(
        type='ONNXRuntimeDetector', onnx_file=write_constant_detector(tmp / 'm.onnx', 2),
        bbox_head=dict(type='CenterNetHead', in_channels=8, feat_channels=8,
                       branches=dict(heatmap=dict(), wh=dict(), offset=dict()),
                       codec=dict(type='CTDetCodec', num_classes=2)),
        data_preprocessor=dict(type='mmdet.DetDataPreprocessor', mean=[0., 0., 0.],
                               std=[1., 1., 1.]))


CASES = {('MODELS', 'ONNXRuntimeDetector'): _ort_detector}
