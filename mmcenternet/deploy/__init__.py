"""Deployment: ONNX export with the decode inside, ONNX Runtime inference, fp16 / int8.

Importing this package needs neither ``onnx`` nor ``onnxruntime`` (they load when used);
see docs/deployment.md.
"""
from .onnx_export import (CenterNetONNX, check_exportable, export_keys, export_onnx,
                          to_exportable)
from .onnx_meta import DET_KEYS, INPUT_NAME, META_KEY, get_meta
from .ort_detector import ONNXRuntimeDetector, load_session, ort_model_cfg

__all__ = ['DET_KEYS', 'INPUT_NAME', 'META_KEY', 'CenterNetONNX', 'export_onnx', 'get_meta',
           'to_exportable', 'ONNXRuntimeDetector', 'load_session',
           'ort_model_cfg', 'check_exportable', 'export_keys']
