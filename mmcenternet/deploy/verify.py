"""ONNX Runtime vs PyTorch on the same input: the check behind ``pytorch2onnx.py --verify``
and the parity tests."""
from typing import Dict, List, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from mmcenternet.utils.benchmark import compare_dets
from .onnx_export import INPUT_NAME, CenterNetONNX


def pytorch_outputs(model: nn.Module, x: Tensor, decode: bool = True) -> Dict[str, Tensor]:
    """The outputs the export of ``model`` should give for ``x`` (PyTorch, unfused)."""
    wrapper = CenterNetONNX(model, decode=decode).eval()
    with torch.no_grad():
        return {k: v.float() if v.is_floating_point() else v
                for k, v in wrapper.outputs(x).items()}


def ort_outputs(session, x: Tensor) -> Dict[str, Tensor]:
    """An ONNX Runtime session's outputs for ``x``, by name."""
    names = [o.name for o in session.get_outputs()]
    outs = session.run(names, {INPUT_NAME: np.ascontiguousarray(x.numpy(), np.float32)})
    return {n: torch.from_numpy(o) for n, o in zip(names, outs)}


def compare_with_pytorch(model: nn.Module, session, inputs: Sequence[Tensor],
                         score_tol: float = 1e-4) -> List[Dict[str, float]]:
    """Per input and image: detections paired one to one (:func:`compare_dets`: max box /
    score difference and unpaired count, pairing scores within ``score_tol``), or the max
    abs difference per branch map for a ``--no-decode`` model."""
    names = [o.name for o in session.get_outputs()]
    decode = 'bboxes' in names
    report = []
    for x in inputs:
        ref = pytorch_outputs(model, x, decode)
        got = ort_outputs(session, x)
        if not decode:
            report.append({k: float((got[k].float() - ref[k]).abs().max()) for k in ref})
            continue
        for i in range(x.shape[0]):
            pick = {k: {n: v[i] for n, v in d.items()} for k, d in (('got', got),
                                                                     ('ref', ref))}
            report.append(compare_dets(pick['got'], pick['ref'], score_tol))
    return report
