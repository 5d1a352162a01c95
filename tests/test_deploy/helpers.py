"""Helpers of the deployment tests: the repository's scripts as modules, and small
hand-made ONNX files (no export needed)."""
import importlib.util
import json
import os.path as osp

import numpy as np
import torch


def load_tool(repo_root, rel_path):
    """Imports a script of tools/, demo/ or benchmarks/ (not a package module)."""
    path = osp.join(repo_root, rel_path)
    spec = importlib.util.spec_from_file_location(osp.splitext(osp.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_constant_detector(path, num_classes=4, input_name='input', output_names=(
        'bboxes', 'scores', 'labels'), meta=True, topk=3) -> str:
    """An ONNX model with one image input (unused) and constant detection outputs.

    ``bboxes (1, topk, 4)``, ``scores (1, topk)``, ``labels (1, topk)``; with ``meta`` the
    model carries the meta information ``pytorch2onnx.py`` stores (``num_classes``).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from mmcenternet.deploy.onnx_meta import META_KEY
    values = [np.tile(np.array([[10., 10., 30., 40.]], np.float32), (1, topk, 1)),
              np.linspace(0.9, 0.1, topk, dtype=np.float32)[None],
              np.arange(topk, dtype=np.int64)[None] % num_classes]
    nodes, outputs = [], []
    for name, value in zip(output_names, values):
        nodes.append(helper.make_node('Constant', [], [name],
                                      value=numpy_helper.from_array(value, name)))
        elem = TensorProto.INT64 if value.dtype == np.int64 else TensorProto.FLOAT
        outputs.append(helper.make_tensor_value_info(name, elem, list(value.shape)))
    image = helper.make_tensor_value_info(input_name, TensorProto.FLOAT,
                                          ['batch', 3, 'height', 'width'])
    graph = helper.make_graph(nodes, 'constant_detector', [image], outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 19)])
    model.ir_version = 9
    if meta:
        entry = model.metadata_props.add()
        entry.key = META_KEY
        entry.value = json.dumps(dict(num_classes=num_classes, decoder='CTDetDecoder'))
    onnx.save(model, str(path))
    return str(path)


def memorise(cfg_path: str, ckpt: str, steps: int = 50, split: str = 'train_dataloader',
             lr: float = 5e-3) -> None:
    """Trains the config's model on all the images of ``split`` (one batch, the test
    pipeline with the annotations loaded before the warp so that they follow it) and saves
    a checkpoint: a tiny model whose AP on those images is high enough to compare."""
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import OptimWrapper

    from mmcenternet.registry import DATASETS, MODELS
    cfg = Config.fromfile(cfg_path)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    dataset_cfg = dict(cfg[split].dataset)
    pipeline = [dict(t) for t in cfg.test_dataloader.dataset.pipeline]
    load = [t for t in pipeline if str(t['type']).endswith('Annotations')]
    others = [t for t in pipeline if not str(t['type']).endswith('Annotations')]
    dataset_cfg['pipeline'] = others[:1] + load + others[1:]
    dataset = DATASETS.build(dataset_cfg)
    batch = pseudo_collate([dataset[i] for i in range(len(dataset))])
    wrapper = OptimWrapper(torch.optim.Adam(model.parameters(), lr=lr))
    model.train()
    for _ in range(steps):
        model.train_step(batch, wrapper)
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': dict(dataset.metainfo)}}, ckpt)
