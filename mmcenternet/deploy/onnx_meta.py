"""What every deploy module shares about our ONNX files: the input / output names, the opset
and IR version, and the meta information stored in ``metadata_props[META_KEY]`` (JSON)."""
import json
from typing import Optional

META_KEY = 'mmcenternet'
INPUT_NAME = 'input'
DET_KEYS = ('bboxes', 'scores', 'labels')
OPSET = 19
# ONNX Runtime 1.31 runs DeformConv on CPU only for models of IR version <= 13 (newer IR
# versions are refused altogether). Files get the lowest IR version their opsets allow.
MAX_IR_VERSION = 13


def ir_version_for(proto) -> int:
    """The lowest IR version the model's ONNX opsets allow (ONNX Runtime needs <= 13);
    opset imports of other domains that no node uses are dropped first (ONNX Runtime's
    optimiser declares several)."""
    import onnx
    used = {node.domain for node in proto.graph.node}
    keep = [o for o in proto.opset_import if o.domain in ('', 'ai.onnx') or o.domain in used]
    del proto.opset_import[:]
    proto.opset_import.extend(keep)
    version = onnx.helper.find_min_ir_version_for(
        [o for o in keep if o.domain in ('', 'ai.onnx', 'ai.onnx.ml')])
    if version > MAX_IR_VERSION:
        raise ValueError(f'opsets {[(o.domain, o.version) for o in proto.opset_import]} need '
                         f'IR version {version}; ONNX Runtime runs DeformConv only up to '
                         f'IR {MAX_IR_VERSION}: use a lower --opset')
    return version


def set_meta(proto, meta: dict) -> None:
    """Writes ``meta`` (JSON) into ``proto.metadata_props[META_KEY]``, replacing it."""
    for i in reversed(range(len(proto.metadata_props))):
        if proto.metadata_props[i].key == META_KEY:
            del proto.metadata_props[i]
    entry = proto.metadata_props.add()
    entry.key = META_KEY
    entry.value = json.dumps(meta)


def get_meta(proto) -> Optional[dict]:
    """The meta information ``export_onnx`` stored, or None."""
    for prop in proto.metadata_props:
        if prop.key == META_KEY:
            return json.loads(prop.value)
    return None
