"""mmcenternet vs MMDetection 3.x CenterNet R18-DCNv2: same weights, same outputs, speed.

Builds our ``centernet_r18-dcnv2_8xb16-crop512-140e_coco`` model and mmdet's config of the
same name (from the installed mmdet package) in one process, copies mmdet's weights into
ours (:func:`copy_mmdet_weights`: the mapping of ``tools/model_converters/mmdet2mmcn.py``),
checks that both give the same detections, then times both side by side (alternating runs,
medians) and prints ours/mmdet ratios for:

* target generation (``--batch-size`` images x ``--num-objects`` objects): mmdet's
  ``CenterNetHead.get_targets`` vs our ``CTDetCodec.encode``;
* one training iteration (``train_step``: preprocessing, forward, loss, backward, SGD step)
  at ``--batch-size``;
* network forward, decode, and end-to-end predict (image file -> boxes) at batch 1, ours
  with its inference fusions (BN folding, channels-last; ``--no-fusions`` to turn off);
* end-to-end predict of ours exported to ONNX (decode inside, dynamic input size) and run
  by ONNX Runtime (``ONNXRuntimeDetector``: same test pipeline, preprocessing and
  back-mapping), against the same mmdet runs (``--no-onnxruntime`` to leave it out); its
  detections from the image file are checked against mmdet's as ours are.

Both models get identical input tensors: mmdet's data preprocessor is given our (official
CenterNet) BGR mean/std, which changes its constants only, not its cost; with an image of
any size both test pipelines pad it the same way (``(size | 31) + 1``, centered).

Exits with status 1 when the outputs differ (max abs box difference ``>= --tol``); with
``--strict`` also when a speed target is missed.

    python benchmarks/compare_mmdet.py --img-size 512 --repeat 10
"""
import argparse
import copy
import json
import os.path as osp
import sys
import tempfile
from typing import Callable, Dict, List, Optional, Tuple

import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope
from torch import Tensor, nn

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from mmcenternet.checkpoint.mmdet_centernet import convert_mmdet_state_dict  # noqa: E402
from mmcenternet.engine.config import load_config  # noqa: E402
from mmcenternet.models.utils import optimize_for_inference  # noqa: E402
from mmcenternet.utils import register_all_modules  # noqa: E402
from mmcenternet.apis import inference_batch  # noqa: E402
from mmcenternet.utils.benchmark import (DenseNet, compare_dets, quiet_logs,  # noqa: E402
                                         randomize_, same, synthetic_gt, synthetic_train_data,
                                         test_pipeline_of, time_cases, write_test_image)

OUR_CONFIG = osp.join(ROOT, 'configs/centernet/centernet_r18-dcnv2_8xb16-crop512-140e_coco.py')
MMDET_CONFIG = 'configs/centernet/centernet_r18-dcnv2_8xb16-crop512-140e_coco.py'
# Speed targets: ours / mmdet median time must be at most this.
TARGETS = {'targets': 0.1, 'train_step': 0.9, 'e2e_predict': 0.8, 'e2e_predict_ort': 0.5}
NUM_CLASSES = 80


# ------------------------------------------------------------------ models
def mmdet_config_path() -> str:
    """mmdet's R18-DCNv2 CenterNet config from the installed package (``mmdet/.mim``)."""
    import mmdet
    path = osp.join(osp.dirname(mmdet.__file__), '.mim', MMDET_CONFIG)
    if not osp.exists(path):
        raise FileNotFoundError(f'mmdet config not found at {path}; install mmdet with its '
                                'configs (pip install mmdet==3.3.0)')
    return path


def our_model_cfg(cfg: Config) -> dict:
    """Our model config, with the official (non-mmdet) decoding: top-100, no NMS."""
    from mmcenternet.models.utils import strip_pretrained_init
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.test_cfg = dict(score_thr=0, nms=None)
    strip_pretrained_init(model_cfg)  # both models get the same random weights anyway
    return model_cfg


def mmdet_model_cfg(cfg: Config, our_preprocessor: dict) -> dict:
    """mmdet's model config, made comparable.

    ``test_cfg`` top-100 with a 3x3 peak window and no NMS (as ours), no pretrained
    download, and our data preprocessor's mean / std / channel order so both models see
    the same input tensors (only constants change).
    """
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.type = 'mmdet.CenterNet'
    model_cfg.backbone.init_cfg = None
    model_cfg.test_cfg = dict(topk=100, local_maximum_kernel=3, max_per_img=100)
    pre = model_cfg.data_preprocessor
    pre.mean = list(our_preprocessor['mean'])
    pre.std = list(our_preprocessor['std'])
    pre.bgr_to_rgb = our_preprocessor.get('bgr_to_rgb', False)
    pre.pad_size_divisor = our_preprocessor.get('pad_size_divisor', 1)
    return model_cfg


def build_models(cfg: Config, mmdet_cfg: Config) -> Tuple[nn.Module, nn.Module]:
    """``(ours, mmdet's)``, each built in its own default scope."""
    from mmdet.registry import MODELS as MMDET_MODELS

    from mmcenternet.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmcenternet'):
        ours = MODELS.build(our_model_cfg(cfg))
    with DefaultScope.overwrite_default_scope('mmdet'):
        theirs = MMDET_MODELS.build(mmdet_model_cfg(mmdet_cfg, cfg.model.data_preprocessor))
    ours.init_weights()
    theirs.init_weights()
    return ours, theirs


# ------------------------------------------------------------------ weights mmdet -> ours
def copy_mmdet_weights(theirs: nn.Module, ours: nn.Module) -> None:
    """Loads mmdet's weights into our model (strict), mapped as
    ``tools/model_converters/mmdet2mmcn.py`` does (``checkpoint/mmdet_centernet.py``)."""
    ours.load_state_dict(convert_mmdet_state_dict(theirs.state_dict()), strict=True)


# ------------------------------------------------------------------ outputs
def dense_maps(model: nn.Module, x: Tensor, is_mmdet: bool) -> List[Tensor]:
    """``[sigmoid heatmap, wh, offset]`` of one of the two models."""
    with torch.no_grad():
        outs = DenseNet(model)(x)
    outs = [t.float().contiguous() for t in outs]
    if not is_mmdet:  # ours are raw logits; mmdet's head applies the sigmoid itself
        outs[0] = outs[0].sigmoid()
    return outs


def predict_tensor(model: nn.Module, x: Tensor) -> Dict[str, Tensor]:
    """Top-100 detections of a preprocessed batch-1 input, in input pixels."""
    height, width = x.shape[-2:]
    sample = DetDataSample(metainfo=dict(
        img_shape=(height, width), ori_shape=(height, width), batch_input_shape=(height, width),
        pad_shape=(height, width), border=(0, height, 0, width), scale_factor=(1., 1.)))
    with torch.no_grad():
        res = model.predict(x, [sample], rescale=False)[0].pred_instances
    return dict(bboxes=res.bboxes.float(), scores=res.scores.float(), labels=res.labels)


def dets_of_sample(sample) -> Dict[str, Tensor]:
    """``pred_instances`` of a data sample as a dict."""
    res = sample.pred_instances
    return dict(bboxes=res.bboxes.float(), scores=res.scores.float(), labels=res.labels)


# ------------------------------------------------------------------ main
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--img-size', type=int, default=512,
                        help='network input size for forward / train step / decode; '
                        'also the size of the square test image for end-to-end')
    parser.add_argument('--batch-size', type=int, default=4,
                        help='images per training step and per target generation')
    parser.add_argument('--num-objects', type=int, default=20, help='gt objects per image')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeat', type=int, default=10, help='timed runs per case')
    parser.add_argument('--train-repeat', type=int, default=None,
                        help='timed training steps (default: --repeat)')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--no-fusions', action='store_true',
                        help='time our plain eval model at inference')
    parser.add_argument('--skip-train', action='store_true', help='skip the training step')
    parser.add_argument('--no-onnxruntime', action='store_true',
                        help='leave out the ONNX Runtime path (export + end to end)')
    parser.add_argument('--tol', type=float, default=1e-3,
                        help='max abs box / score difference counted as equal')
    parser.add_argument('--strict', action='store_true',
                        help='also exit 1 when a speed target is missed')
    parser.add_argument('--json', help='write the figures to this JSON file')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


FilePredictor = Callable[[str], DetDataSample]


def file_predictor(model: nn.Module, cfg: Config, scope: str) -> FilePredictor:
    """Image file -> detections (``apis.inference_batch``) with the config's test pipeline
    built once, in ``scope``, without annotation loading: the rebuild is not timed."""
    with DefaultScope.overwrite_default_scope(scope):
        pipelines = {False: Compose(test_pipeline_of(cfg))}
    return lambda img_path: inference_batch(model, [img_path], 1, pipelines)[0]


def ort_predictor(ours: nn.Module, cfg: Config, onnx_file: str) -> FilePredictor:
    """Our model exported to ONNX (decode inside, dynamic size) as an image-file predictor
    on ONNX Runtime with the config's test pipeline, preprocessing and back-mapping."""
    from mmcenternet.deploy import export_onnx, ort_model_cfg
    from mmcenternet.registry import MODELS
    export_onnx(ours, onnx_file, (1, 3, 128, 128), dynamic=True, cfg=cfg)
    with DefaultScope.overwrite_default_scope('mmcenternet'):
        model = MODELS.build(ort_model_cfg(cfg.model, onnx_file))
    return file_predictor(model.eval(), cfg, 'mmcenternet')


def check_outputs(ours: nn.Module, ours_fast: nn.Module, theirs: nn.Module, x: Tensor,
                  tol: float) -> Tuple[bool, dict]:
    """Dense maps and top-100 detections of ours (plain and fused) vs mmdet's."""
    ref_maps = dense_maps(theirs, x, is_mmdet=True)
    report = {}
    for name, model in [('ours', ours), ('ours_fused', ours_fast)]:
        maps = dense_maps(model, x, is_mmdet=False)
        report[f'{name}_maps_max_abs_diff'] = max(
            (a - b).abs().max().item() for a, b in zip(maps, ref_maps))
    ref = predict_tensor(theirs, x)
    ok = True
    for name, model in [('ours', ours), ('ours_fused', ours_fast)]:
        diff = compare_dets(predict_tensor(model, x), ref)
        report[f'{name}_dets'] = diff
        ok = ok and same(diff, tol)
    return ok, report


def main(argv=None) -> int:
    args = parse_args(argv)
    with quiet_logs():
        return run(args)


def run(args: argparse.Namespace) -> int:
    """Runs the tool with parsed arguments."""
    if args.threads:
        torch.set_num_threads(args.threads)
    register_all_modules(init_default_scope=True)
    torch.manual_seed(args.seed)
    cfg = load_config(OUR_CONFIG)
    mmdet_cfg = load_config(mmdet_config_path(), check=False)  # mmdet's: its own scope
    ours, theirs = build_models(cfg, mmdet_cfg)
    randomize_(theirs, args.seed)
    copy_mmdet_weights(theirs, ours)
    ours.eval()
    theirs.eval()
    ours_fast = copy.deepcopy(ours)
    if not args.no_fusions:
        optimize_for_inference(ours_fast, fuse_bn=True, channels_last=True)
    dcn = type(ours.neck.layers[0]).__name__

    size = args.img_size
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads; ours: DCN '
          f'{dcn}, inference fusions: {"off" if args.no_fusions else "BN folding + channels-last"}')
    tmpdir = tempfile.mkdtemp(prefix='mmcn_compare_')
    img_path = write_test_image(osp.join(tmpdir, 'image.png'), size, args.seed)

    # ---- same outputs
    gen = torch.Generator().manual_seed(args.seed)
    x = torch.randn(1, 3, size, size, generator=gen)
    ok, report = check_outputs(ours, ours_fast, theirs, x, args.tol)
    ours_e2e = file_predictor(ours_fast, cfg, 'mmcenternet')
    mmdet_e2e = file_predictor(theirs, mmdet_cfg, 'mmdet')
    ours_sample, mmdet_sample = ours_e2e(img_path), mmdet_e2e(img_path)
    e2e_diff = compare_dets(dets_of_sample(ours_sample), dets_of_sample(mmdet_sample))
    report['e2e_dets'] = e2e_diff
    report['e2e_input_shape'] = list(ours_sample.batch_input_shape)
    ok = ok and same(e2e_diff, args.tol)
    ort_e2e = None
    if not args.no_onnxruntime:
        ort_e2e = ort_predictor(ours, cfg, osp.join(tmpdir, 'ours.onnx'))
        report['e2e_ort_dets'] = compare_dets(dets_of_sample(ort_e2e(img_path)),
                                              dets_of_sample(mmdet_sample))
        ok = ok and same(report['e2e_ort_dets'], args.tol)
    print('\n== Same weights, same outputs (max abs difference, ours vs mmdet) ==')
    print(f"dense maps (sigmoid heatmap, wh, offset): plain {report['ours_maps_max_abs_diff']:.2e}"
          f", fused {report['ours_fused_maps_max_abs_diff']:.2e}")
    for key, title in [('ours_dets', 'top-100 detections, plain'),
                       ('ours_fused_dets', 'top-100 detections, fused'),
                       ('e2e_dets', 'end-to-end from the image file, fused'),
                       ('e2e_ort_dets', 'end-to-end, ONNX Runtime')]:
        if key not in report:
            continue
        d = report[key]
        print(f"{title:<40s}: boxes {d['box']:.2e}, scores {d['score']:.2e}, "
              f"unpaired {d['labels']} ({d['num_ours']} vs {d['num_mmdet']} dets)")
    print('outputs:', 'SAME' if ok else 'DIFFERENT')

    # ---- speed
    timings = run_timings(args, ours, ours_fast, theirs, ours_e2e, mmdet_e2e, img_path,
                          ort_e2e)
    print(f'\n== Speed, ours / mmdet (medians of {args.repeat} alternating runs) ==')
    missed = []
    results = {}
    for case, (ours_t, mmdet_t, extra) in timings.items():
        ratio = ours_t.median / mmdet_t.median
        target = TARGETS.get(case)
        verdict = ''
        if target is not None:
            verdict = f'target <= {target}: ' + ('met' if ratio <= target else 'MISSED')
            if ratio > target:
                missed.append(case)
        print(f'{case:<15s} ours {ours_t.median * 1e3:9.2f} ms (p90 {ours_t.p90 * 1e3:8.2f})'
              f'   mmdet {mmdet_t.median * 1e3:9.2f} ms (p90 {mmdet_t.p90 * 1e3:8.2f})'
              f'   ratio {ratio:6.3f}  {verdict} {extra}')
        results[case] = dict(ours_ms=ours_t.median * 1e3, mmdet_ms=mmdet_t.median * 1e3,
                             ours_p90_ms=ours_t.p90 * 1e3, mmdet_p90_ms=mmdet_t.p90 * 1e3,
                             ratio=ratio, target=target)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(outputs_same=ok, checks=report, timings=results,
                           args=vars(args), threads=torch.get_num_threads()), f, indent=2)
    if not ok:
        print('ERROR: outputs differ', file=sys.stderr)
        return 1
    if args.strict and missed:
        print(f'ERROR: speed targets missed: {missed}', file=sys.stderr)
        return 1
    return 0


def run_timings(args, ours: nn.Module, ours_fast: nn.Module, theirs: nn.Module,
                ours_e2e: FilePredictor, mmdet_e2e: FilePredictor, img_path: str,
                ort_e2e: Optional[FilePredictor] = None) -> dict:
    """All timed cases; ``{case: (ours Timing, mmdet Timing, note)}``."""
    size, batch = args.img_size, args.batch_size
    out = {}
    # target generation
    gts = synthetic_gt(batch, args.num_objects, size, NUM_CLASSES, args.seed)
    feat = (size // 4, size // 4)
    bboxes = [g.bboxes for g in gts]
    labels = [g.labels for g in gts]
    t = time_cases({
        'ours': lambda: ours.bbox_head.codec.encode(gts, feat),
        'mmdet': lambda: theirs.bbox_head.get_targets(bboxes, labels,
                                                      (batch, NUM_CLASSES) + feat, (size, size))
    }, warmup=args.warmup, repeat=max(args.repeat, 10))
    out['targets'] = (t['ours'], t['mmdet'], f'({batch} images x {args.num_objects} objects)')

    # training step
    if not args.skip_train:
        data = synthetic_train_data(batch, size, args.num_objects, NUM_CLASSES, args.seed)
        models = {'ours': copy.deepcopy(ours).train(), 'mmdet': copy.deepcopy(theirs).train()}
        wrappers = {k: OptimWrapper(torch.optim.SGD(m.parameters(), lr=1e-5, momentum=0.9))
                    for k, m in models.items()}
        datas = {k: copy.deepcopy(data) for k in models}
        t = time_cases({k: (lambda k=k: models[k].train_step(datas[k], wrappers[k]))
                        for k in models}, warmup=1,
                       repeat=args.train_repeat or args.repeat)
        out['train_step'] = (t['ours'], t['mmdet'], f'(batch {batch}, {size} px)')
        del models, wrappers

    # network forward and decode, batch 1
    x = torch.randn(1, 3, size, size)
    nets = {'ours': DenseNet(ours_fast), 'mmdet': DenseNet(theirs)}
    with torch.no_grad():
        t = time_cases({k: (lambda k=k: nets[k](x)) for k in nets}, warmup=args.warmup,
                       repeat=args.repeat)
        out['forward'] = (t['ours'], t['mmdet'], f'(batch 1, {size} px)')
        ours_maps = ours_fast.bbox_head(ours_fast.extract_feat(x))
        mmdet_maps = theirs.bbox_head(theirs.extract_feat(x))
        metas = [dict(batch_input_shape=(size, size), img_shape=(size, size),
                      border=(0, size, 0, size))]
        t = time_cases({
            'ours': lambda: ours_fast.bbox_head.predict_by_feat(ours_maps, metas),
            'mmdet': lambda: theirs.bbox_head.predict_by_feat(*mmdet_maps, batch_img_metas=metas,
                                                              rescale=False)
        }, warmup=args.warmup, repeat=max(args.repeat, 10))
        out['decode'] = (t['ours'], t['mmdet'], '(top-100, batch 1)')
    cases = {'ours': lambda: ours_e2e(img_path), 'mmdet': lambda: mmdet_e2e(img_path)}
    if ort_e2e is not None:  # in the same alternation, against the same mmdet runs
        cases['ort'] = lambda: ort_e2e(img_path)
    t = time_cases(cases, warmup=args.warmup, repeat=args.repeat)
    out['e2e_predict'] = (t['ours'], t['mmdet'], f'(image file {size}x{size}, batch 1)')
    if ort_e2e is not None:
        out['e2e_predict_ort'] = (t['ort'], t['mmdet'], '(ONNX Runtime, fp32, same runs)')
    return out


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        sys.exit(main())
