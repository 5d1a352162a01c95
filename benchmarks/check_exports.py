"""Does every config export to ONNX and run in ONNX Runtime like PyTorch? (random weights)

    python benchmarks/check_exports.py [CONFIG ...] [--size 128]

For each config (default: every config under ``configs/`` but ``_base_``): the model with
random weights (``randomize_``, then the heatmap and size logits scaled to a spread-out range
so that scores do not tie), exported twice with ``--dynamic`` (with the decode, and
``--no-decode``), run by ONNX Runtime at two input sizes. Prints the number of ONNX
``DeformConv`` nodes, the export time, the max abs difference of the dense maps and the
paired top-100 detection differences (``compare_with_pytorch``: boxes, then every other
output of the decode, e.g. keypoints or 3D attributes, over the same pairs) against PyTorch.
The last column is the decode in the graph alone (``compare_graph_decode``: the PyTorch
decoder on the ``--no-decode`` model's maps against the model with the decode, same inputs;
the max of every difference and unpaired count, 0 when the traced decode is exact). A config
whose model cannot be exported (``check_exportable``) gets its reason instead.
"""
import argparse
import glob
import os.path as osp
import sys
import tempfile
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def spread_logits_(model, x, heatmap_std: float = 1.5, wh_std: float = 4.0) -> None:
    """Scales the last conv of the heatmap and size branches so that, on ``x``, their raw
    outputs have these standard deviations (random weights otherwise give near-constant
    heatmaps whose top-100 is a tie)."""
    import torch
    with torch.no_grad():
        maps = model.bbox_head(model.extract_feat(x))[-1]
        for name, target in (('heatmap', heatmap_std), ('wh', wh_std)):
            if name not in maps:  # e.g. CenterFace sizes are the log-size branch "scale"
                continue
            for branch in model.bbox_head.branches[name]:
                branch[-1].weight.mul_(target / maps[name].std().clamp(min=1e-6))


def without_pretrained(cfg):
    """The config with no ``Pretrained*`` ``init_cfg`` anywhere in ``cfg.model`` (the weights
    are random here; nothing needs downloading)."""
    def strip(node):
        if isinstance(node, dict):
            inits = node.get('init_cfg')
            inits = inits if isinstance(inits, (list, tuple)) else [inits]
            if any(isinstance(i, dict) and str(i.get('type', '')).startswith('Pretrained')
                   for i in inits):
                node['init_cfg'] = None
            for value in node.values():
                strip(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                strip(value)
    strip(cfg.model)
    return cfg


def check(config: str, size: int, work: str) -> str:
    """One markdown table row for ``config``."""
    import onnx
    import torch
    from mmcenternet.deploy import check_exportable, export_onnx, load_session
    from mmcenternet.deploy.verify import compare_graph_decode, compare_with_pytorch
    from mmcenternet.engine.config import load_config
    from mmcenternet.errors import ExportError
    from mmcenternet.registry import MODELS
    from mmcenternet.utils.benchmark import randomize_
    cfg = without_pretrained(load_config(config))
    torch.manual_seed(0)  # init_weights draws the weights randomize_ keeps
    model = MODELS.build(cfg.model)
    name = osp.splitext(osp.basename(config))[0]
    try:
        check_exportable(model, cfg)
    except ExportError as exc:
        return f'| `{name}` | - | - | does not export | {str(exc).split(": ", 1)[1]} | - |'
    model.init_weights()
    randomize_(model, 0).eval()
    gen = torch.Generator().manual_seed(1)
    inputs = [torch.randn(1, 3, size, size, generator=gen),
              torch.randn(1, 3, size - 32, size + 32, generator=gen)]
    spread_logits_(model, inputs[0])
    reports, sessions, seconds, dcn = {}, {}, 0.0, 0
    for decode in (False, True):
        out = osp.join(work, f'{decode}.onnx')
        start = time.perf_counter()
        export_onnx(model, out, (1, 3, size, size), dynamic=True, cfg=cfg, decode=decode)
        seconds = time.perf_counter() - start
        dcn = [n.op_type for n in onnx.load(out).graph.node].count('DeformConv')
        sessions[decode] = load_session(out)
        reports[decode] = compare_with_pytorch(model, sessions[decode], inputs)
    alone = compare_graph_decode(model, sessions[False], sessions[True], inputs)
    exact = max([d['box'] for d in alone] + [v for d in alone for v in d['extras'].values()]
                + [d['labels'] for d in alone])
    maps = ' / '.join(f'{max(r[k] for r in reports[False]):.1e}' for k in reports[False][0])
    dets = reports[True]
    box = max(d['box'] for d in dets)
    unpaired = sum(d['labels'] for d in dets)
    total = sum(d['num_ours'] for d in dets)
    extras = ''.join(f', {key} {max(d["extras"].get(key, 0.) for d in dets):.1e}'
                     for key in dets[0]['extras'])
    return (f'| `{name}` | {dcn} | {seconds:.1f} | {maps} | '
            f'boxes {box:.1e} px{extras}; {unpaired} of {total} unpaired | {exact:.1e} |')


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='*')
    parser.add_argument('--size', type=int, default=128, help='input size (Hourglass: x2)')
    args = parser.parse_args(argv)
    from mmcenternet.utils import register_all_modules
    from mmcenternet.utils.benchmark import quiet_logs
    register_all_modules()
    configs = args.configs or sorted(
        p for p in glob.glob(osp.join(ROOT, 'configs', '*', '*.py')) if '_base_' not in p)
    print('| config | DeformConv | export (s) | maps: max abs diff (per branch) | '
          'top-100 detections | graph decode alone |')
    print('| --- | ---: | ---: | --- | --- | ---: |')
    with quiet_logs(), tempfile.TemporaryDirectory() as work:
        for config in configs:
            size = args.size * 2 if 'hg104' in config else args.size
            print(check(config, size, work), flush=True)


if __name__ == '__main__':
    main()
