"""The benchmark / FLOPs tools and the mmdet comparison's weight mapping (behaviour only)."""
import copy
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from test_tools.toy_workspace import QUICKSTART

R18_DCN = 'configs/centernet/centernet_r18-dcnv2_8xb16-crop512-140e_coco.py'


def _load(repo_root: str, rel_path: str):
    """Imports a script that is not in a package (tools/, benchmarks/)."""
    path = osp.join(repo_root, rel_path)
    spec = importlib.util.spec_from_file_location(osp.splitext(osp.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def one_thread():
    """Runs a test with one torch thread (the tools set it), then restores the count."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_benchmark_prints_all_sections(repo_root, capsys, one_thread):
    bench = _load(repo_root, 'tools/analysis_tools/benchmark.py')
    code = bench.main([QUICKSTART, '--img-size', '64', '--repeat', '1',
                       '--warmup', '1', '--threads', '1', '--fuse', '--channels-last'])
    out = capsys.readouterr().out
    assert code == 0
    for title in bench.SECTIONS:
        assert f'== {title}' in out, out
    assert out.count(' ms   p90 ') == 4 and 'items/s' in out
    assert 'network input' in out


def test_benchmark_cuda_request_without_cuda(repo_root, capsys):
    if torch.cuda.is_available():
        pytest.skip('CUDA is available')
    bench = _load(repo_root, 'tools/analysis_tools/benchmark.py')
    assert bench.main([QUICKSTART, '--device', 'cuda']) == 2
    assert 'CUDA is not available' in capsys.readouterr().err


def test_get_flops_counts_dcn(repo_root):
    flops = _load(repo_root, 'tools/analysis_tools/get_flops.py')
    from mmcenternet.registry import MODELS
    cfg = Config.fromfile(osp.join(repo_root, R18_DCN))
    res = flops.count(MODELS.build(cfg.model), [64, 64])
    # the first neck DCN (512 -> 256, 3x3) on the 2x2 map, plus its offset conv
    dcn = res['by_module']['detector.neck.layers.0']
    offset = res['by_module']['detector.neck.layers.0.conv_offset']
    assert dcn - offset == 512 * 256 * 9 * 2 * 2 and offset == 512 * 27 * 9 * 2 * 2
    text = flops.format_result(res, [64, 64])
    assert 'Flops:' in text and 'Params: 14.44 M' in text and '1x3x64x64' in text


@pytest.fixture(scope='module')
def compare(repo_root):
    return _load(repo_root, 'benchmarks/compare_mmdet.py')


def test_mmdet_key_mapping():
    from mmcenternet.checkpoint.mmdet_centernet import map_mmdet_key
    assert map_mmdet_key('backbone.layer1.0.conv1.weight') == \
        'backbone.layer1.0.conv1.weight'
    assert map_mmdet_key('neck.deconv_layers.0.conv.conv_offset.weight') == \
        'neck.layers.0.conv_offset.weight'
    assert map_mmdet_key('neck.deconv_layers.3.bn.running_var') == \
        'neck.layers.10.running_var'
    assert map_mmdet_key('bbox_head.wh_head.2.bias') == 'bbox_head.branches.wh.0.2.bias'
    with pytest.raises(KeyError, match='no mmcenternet counterpart'):
        map_mmdet_key('bbox_head.foo.weight')


def test_same_weights_same_outputs_at_128(compare, repo_root, one_thread):
    """mmdet's R18-DCNv2 weights in our model: same maps and top-100 detections."""
    torch.set_num_threads(1)
    cfg = Config.fromfile(osp.join(repo_root, R18_DCN))
    mmdet_cfg = Config.fromfile(compare.mmdet_config_path())
    ours, theirs = compare.build_models(cfg, mmdet_cfg)
    compare.randomize_(theirs, seed=0)
    compare.copy_mmdet_weights(theirs, ours)  # strict load
    ours.eval()
    theirs.eval()
    fused = compare.optimize_for_inference(copy.deepcopy(ours), channels_last=True)
    x = torch.randn(1, 3, 128, 128, generator=torch.Generator().manual_seed(0))
    ok, report = compare.check_outputs(ours, fused, theirs, x, tol=1e-3)
    assert ok, report
    assert report['ours_maps_max_abs_diff'] < 1e-4
    assert report['ours_dets']['num_ours'] == 100


def test_compare_dets_pairs_tied_scores(compare):
    boxes = torch.tensor([[0., 0, 10, 10], [5, 5, 20, 20], [1, 1, 3, 3]])
    a = dict(bboxes=boxes, scores=torch.tensor([.5, .5, .2]), labels=torch.tensor([1, 2, 1]))
    b = dict(bboxes=boxes[[1, 0, 2]], scores=torch.tensor([.5, .5, .2]),
             labels=torch.tensor([2, 1, 1]))
    diff = compare.compare_dets(a, b)
    assert diff['box'] == 0 and diff['labels'] == 0 and compare.same(diff, 1e-3)
    b['bboxes'] = b['bboxes'] + 0.01
    assert not compare.same(compare.compare_dets(a, b), 1e-3)


def test_compare_dets_top_k_cut_swap_only_at_the_cut(compare):
    """Two near-equal scores at the top-K cut: each list may keep the other one."""
    boxes = torch.tensor([[0., 0, 10, 10], [5, 5, 20, 20], [40, 40, 60, 60], [70, 70, 90, 90]])
    a = dict(bboxes=boxes[:3], scores=torch.tensor([.9, .5, .20002]), labels=torch.tensor([0, 1, 2]))
    b = dict(bboxes=boxes[[0, 1, 3]], scores=torch.tensor([.9, .5, .2]),
             labels=torch.tensor([0, 1, 3]))
    diff = compare.compare_dets(a, b)
    assert diff['labels'] == 0 and diff['cut_swaps'] == 1 and compare.same(diff, 1e-3)
    # the same swap above the cut is a real difference
    a = dict(bboxes=boxes[:3], scores=torch.tensor([.9, .6, .2]), labels=torch.tensor([0, 1, 2]))
    b = dict(bboxes=boxes[[0, 3, 2]], scores=torch.tensor([.9, .6, .2]),
             labels=torch.tensor([0, 3, 2]))
    diff = compare.compare_dets(a, b)
    assert diff['labels'] == 1 and diff['cut_swaps'] == 0


def test_time_cases_cpu_time_leaves_out_waiting():
    """The CPU time per run counts work, not waiting (a sleep): what makes it usable as an
    idle-core latency on a shared machine; the row prints it."""
    import time

    from mmcenternet.utils.benchmark import time_cases

    def spin(seconds=0.03):
        end = time.process_time() + seconds
        while time.process_time() < end:
            pass

    t = time_cases({'sleep': lambda: time.sleep(0.03), 'spin': spin}, warmup=0, repeat=3)
    assert len(t['sleep'].cpu_times) == len(t['sleep'].times) == 3
    assert t['sleep'].median >= 0.03 and t['sleep'].cpu_median < 0.01
    assert t['spin'].cpu_median >= 0.03
    assert ' cpu ' in t['spin'].row() and ' ms   p90 ' in t['spin'].row()
