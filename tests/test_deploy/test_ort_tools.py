"""The ONNX Runtime path end to end on a tiny toy set: tools/test.py --backend onnxruntime,
int8 / fp16, the demo, and clear errors for bad or mismatched model files.

The model is the quickstart network trained for a few seconds to memorise 8 tiny images
(trained and evaluated on the same images, with the test pipeline), so that its AP is high
enough for AP equality and the int8 AP50 bound to mean something; the full-size toy figures
are in docs/deployment.md.
"""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmcenternet.registry import MODELS

from test_tools.toy_workspace import make_workspace
from .helpers import load_tool, memorise, write_constant_detector

onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ENV = dict(os.environ, PYTHONPATH=ROOT, PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1')

# Quickstart widths at 64 px; trained and tested on the 8 training images with the test
# pipeline (keep_res), and a short constant-lr schedule.
MEMORISE = '''
model = dict(backbone=dict(base_channels=16), neck=dict(in_channels=64, num_filters=(32, 32)),
             bbox_head=dict(in_channels=32, feat_channels=32))
train_split = dict(data_root=data_root, ann_file='annotations/instances_train.json',
                   data_prefix=dict(img='train/'))
test_dataloader = dict(dataset=train_split)
val_dataloader = test_dataloader
test_evaluator = dict(ann_file=data_root + 'annotations/instances_train.json')
val_evaluator = test_evaluator
'''


def run_tool(*args, check=True):
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}')
    return proc


def coco_ap(proc):
    """(AP, AP50) printed by tools/test.py --eval bbox."""
    match = re.search(r'bbox_mAP_copypaste: ([\d.]+) ([\d.]+)', proc.stdout + proc.stderr)
    assert match, proc.stdout[-2000:] + proc.stderr[-2000:]
    return float(match.group(1)), float(match.group(2))


@pytest.fixture(scope='module')
def toy(tmp_path_factory, repo_root):
    """``(config, checkpoint, fp32 dynamic ONNX, tmp dir)`` of the memorised toy model."""
    tmp = tmp_path_factory.mktemp('deploy_toy')
    cfg = make_workspace(tmp, num_train=8, num_val=2, img_size=64, extra=MEMORISE)
    ckpt = str(tmp / 'model.pth')
    memorise(cfg, ckpt)
    onnx_file = str(tmp / 'model.onnx')
    export = load_tool(repo_root, 'tools/deployment/pytorch2onnx.py')
    export.main([cfg, ckpt, '--out', onnx_file, '--dynamic'])
    return cfg, ckpt, onnx_file, tmp


@pytest.fixture(scope='module')
def fp32_ap(toy):
    """COCO AP / AP50 of the PyTorch checkpoint and of its ONNX export (tools/test.py)."""
    cfg, ckpt, onnx_file, tmp = toy
    torch_ap = coco_ap(run_tool('tools/test.py', cfg, ckpt, '--eval', 'bbox', '--work-dir',
                                str(tmp / 'test_pt')))
    ort_ap = coco_ap(run_tool('tools/test.py', cfg, onnx_file, '--backend', 'onnxruntime',
                              '--eval', 'bbox', '--work-dir', str(tmp / 'test_ort')))
    return torch_ap, ort_ap


def test_test_tool_onnxruntime_gives_the_same_ap(fp32_ap):
    (ap, ap50), (ort_ap, ort_ap50) = fp32_ap
    assert ap50 > 0.5, 'the memorised model should detect most objects'
    assert abs(ap - ort_ap) <= 0.002 and abs(ap50 - ort_ap50) <= 0.002, fp32_ap


def test_int8_within_003_ap50_of_fp32(toy, fp32_ap, repo_root):
    cfg, _, onnx_file, tmp = toy
    int8 = str(tmp / 'model_int8.onnx')
    quantize = load_tool(repo_root, 'tools/deployment/quantize_onnx.py')
    meta = quantize.main([cfg, onnx_file, '--out', int8, '--num-images', '8'])
    assert meta['precision'] == 'int8' and meta['calibration']['method'] == 'minmax'
    ops = [n.op_type for n in onnx.load(int8).graph.node]
    assert ops.count('QuantizeLinear') > 10 and ops.count('DequantizeLinear') > 10
    assert osp.getsize(int8) < 0.5 * osp.getsize(onnx_file)
    ap, ap50 = coco_ap(run_tool('tools/test.py', cfg, int8, '--backend', 'onnxruntime',
                                '--eval', 'bbox', '--work-dir', str(tmp / 'test_int8')))
    fp32_ap50 = fp32_ap[1][1]
    assert abs(ap50 - fp32_ap50) <= 0.03, (ap50, fp32_ap50)


def test_fp16_conversion_keeps_detections(toy, repo_root):
    from mmcenternet.deploy.ort_detector import load_session
    from mmcenternet.deploy.verify import ort_outputs
    cfg, _, onnx_file, tmp = toy
    fp16 = str(tmp / 'model_fp16.onnx')
    load_tool(repo_root, 'tools/deployment/quantize_onnx.py').main(
        [cfg, onnx_file, '--out', fp16, '--fp16'])
    proto = onnx.load(fp16)
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in proto.graph.initializer)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    x = torch.randn(1, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    ref, got = (ort_outputs(load_session(f), x) for f in (onnx_file, fp16))
    assert (got['scores'][0, :10] - ref['scores'][0, :10]).abs().max() < 5e-3
    assert torch.equal(got['labels'][0, :5], ref['labels'][0, :5])


def test_demo_runs_the_onnx_model(toy, repo_root, tmp_path):
    cfg, _, onnx_file, tmp = toy
    demo = load_tool(repo_root, 'demo/image_demo.py')
    written = demo.main([str(tmp / 'toy' / 'train'), cfg, onnx_file, '--backend',
                         'onnxruntime', '--out-dir', str(tmp_path), '--max-images', '2',
                         '--score-thr', '0.2'])
    assert len(written) == 2 and all(osp.isfile(p) for p in written)


def test_no_decode_model_gives_the_same_results_in_the_detector(toy, repo_root):
    """A --no-decode export runs the config's decode in PyTorch: same detections."""
    from mmcenternet.apis import inference_detector
    from mmcenternet.apis import init_backend_detector
    cfg, ckpt, onnx_file, tmp = toy
    maps_file = str(tmp / 'maps.onnx')
    load_tool(repo_root, 'tools/deployment/pytorch2onnx.py').main(
        [cfg, ckpt, '--out', maps_file, '--dynamic', '--no-decode'])
    image = str(tmp / 'toy' / 'train' / sorted(os.listdir(tmp / 'toy' / 'train'))[0])
    results = []
    for model_file in (onnx_file, maps_file):
        model = init_backend_detector(cfg, model_file, 'onnxruntime')
        assert model.decoded == (model_file == onnx_file)
        results.append(inference_detector(model, image).pred_instances)
    torch_model = init_backend_detector(cfg, ckpt, 'pytorch')
    results.append(inference_detector(torch_model, image).pred_instances)
    for other in results[1:]:
        assert torch.equal(results[0].labels, other.labels)
        assert (results[0].bboxes - other.bboxes).abs().max() < 1e-3  # original-image pixels
        assert (results[0].scores - other.scores).abs().max() < 1e-4


# ------------------------------------------------------------------ bad model files
def build_detector(cfg_path, onnx_file, **head_changes):
    from mmcenternet.deploy import ort_model_cfg
    cfg = Config.fromfile(cfg_path)
    cfg.model.bbox_head.update(head_changes)
    return MODELS.build(ort_model_cfg(cfg.model, str(onnx_file)))


def test_not_an_onnx_file_is_a_one_line_error(toy, tmp_path):
    cfg, ckpt, _, _ = toy
    text = tmp_path / 'model.onnx'
    text.write_text('not a model\n')
    proc = run_tool('tools/test.py', cfg, str(text), '--backend', 'onnxruntime', check=False)
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()
    assert 'Traceback' not in proc.stderr
    assert err[-2].startswith('error: ') and str(text) in err[-2]
    assert 'not an ONNX model' in err[-2] and 'pytorch2onnx.py' in err[-2]
    from mmcenternet.errors import ONNXModelError
    with pytest.raises(ONNXModelError, match='looks like a PyTorch checkpoint'):
        build_detector(cfg, ckpt)


def test_other_input_names_are_refused(toy, tmp_path):
    from mmcenternet.errors import ONNXModelError
    cfg = toy[0]
    bad = write_constant_detector(tmp_path / 'images.onnx', 4, input_name='images')
    with pytest.raises(ONNXModelError, match=r"inputs \[images .*one input 'input'"):
        build_detector(cfg, bad)
    maps = write_constant_detector(tmp_path / 'maps.onnx', 4, output_names=('a', 'b', 'c'))
    with pytest.raises(ONNXModelError, match=r"expected the detections \['bboxes'"):
        build_detector(cfg, maps)


def test_other_class_count_than_the_config_is_refused(toy):
    from mmcenternet.errors import ONNXModelError
    cfg, _, onnx_file, _ = toy
    three = dict(codec=dict(type='CTDetCodec', num_classes=3))
    with pytest.raises(ONNXModelError, match=r'exported with 4 classes, the config has 3 '
                                             r'\(model.bbox_head.codec.num_classes\)'):
        build_detector(cfg, onnx_file, **three)


def test_fixed_size_model_with_another_input_size_is_a_clear_error(toy, tmp_path, repo_root):
    from mmcenternet.errors import ONNXModelError
    cfg, ckpt, _, _ = toy
    fixed = str(tmp_path / 'fixed.onnx')
    load_tool(repo_root, 'tools/deployment/pytorch2onnx.py').main(
        [cfg, ckpt, '--out', fixed, '--input-size', '64', '64'])
    det = build_detector(cfg, fixed)
    with pytest.raises(ONNXModelError, match='fixed input of 1x3x64x64.*--dynamic'):
        det._forward(torch.zeros(1, 3, 96, 96))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        build_detector(cfg, tmp_path / 'missing.onnx')
