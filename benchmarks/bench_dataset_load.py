"""Load time and peak memory of a COCO-sized annotation file: ours vs mmdet's CocoDataset.

    python benchmarks/bench_dataset_load.py [--out /tmp/mmcn_bench_coco] [--repeat 2]

Writes (once, then reuses) a synthetic ``instances_train2017``-sized file: 118,287 images
and about 860,000 boxes in 80 categories, without segmentations (about 126 MB), with a
sprinkling of the faults our dataset checks for (boxes partly or fully outside their
image, zero-size boxes, crowd boxes). No image file exists: loading must not read images
(``CenterNetCocoDataset`` compares image sizes with the file lazily, when the pipeline
decodes an image). Then loads it with ``mmcenternet.datasets.CenterNetCocoDataset`` and
with ``mmdet.datasets.CocoDataset`` (same arguments, ``filter_empty_gt`` + ``min_size=32``
as mmdet's COCO training config), each in its own fresh subprocess, alternating, and prints
the median wall time of the dataset construction (parse, check, filter, serialise), the
peak resident memory of the process, and ours / mmdet's ratios. The budget is 1.5x.
"""
import argparse
import json
import os
import os.path as osp
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
NUM_IMAGES = 118287
BOXES_PER_IMAGE = 7.3  # COCO train2017: 860,001 boxes
BUDGET = 1.5


def _coco_categories():
    from mmdet.datasets import CocoDataset
    return [dict(id=i + 1, name=name, supercategory='thing')
            for i, name in enumerate(CocoDataset.METAINFO['classes'])]


def write_synthetic_coco(path: str, seed: int = 0) -> None:
    """A synthetic COCO-sized detection file (see the module docstring)."""
    rng = np.random.default_rng(seed)
    widths = rng.choice([640, 480, 500, 427, 612], NUM_IMAGES)
    heights = rng.choice([480, 640, 375, 333, 424], NUM_IMAGES)
    counts = rng.poisson(BOXES_PER_IMAGE, NUM_IMAGES)
    counts[rng.random(NUM_IMAGES) < 0.01] = 0  # ~1% of the images without boxes
    image_ids = np.repeat(np.arange(1, NUM_IMAGES + 1), counts)
    n = len(image_ids)
    w_img, h_img = widths[image_ids - 1], heights[image_ids - 1]
    bw = np.round(np.clip(w_img * rng.beta(1.2, 4, n), 1, None), 2)  # mostly small
    bh = np.round(np.clip(h_img * rng.beta(1.2, 4, n), 1, None), 2)
    x = np.round(rng.uniform(0, 1, n) * np.maximum(w_img - bw, 1), 2)
    y = np.round(rng.uniform(0, 1, n) * np.maximum(h_img - bh, 1), 2)
    faults = rng.random(n)
    x[faults < 0.01] -= 15                           # partly outside: clipped
    x[(faults >= 0.01) & (faults < 0.0102)] += 2000  # fully outside: dropped
    bw[(faults >= 0.0102) & (faults < 0.0104)] = 0   # zero size: dropped
    cats = rng.integers(1, 81, n)
    crowd = (rng.random(n) < 0.01).astype(int)
    area = np.round(bw * bh * 0.7, 2)
    with open(path, 'w') as f:
        f.write('{"info": {"description": "synthetic COCO-sized file"}, "licenses": [], ')
        f.write('"images": [')
        f.write(', '.join(
            f'{{"license": 1, "file_name": "{i:012d}.jpg", "height": {int(h)}, '
            f'"width": {int(w)}, "id": {i}}}'
            for i, w, h in zip(range(1, NUM_IMAGES + 1), widths, heights)))
        f.write('], "annotations": [')
        f.write(', '.join(
            f'{{"segmentation": [], "area": {a}, "iscrowd": {c}, "image_id": {i}, '
            f'"bbox": [{x0}, {y0}, {w}, {h}], "category_id": {k}, "id": {j}}}'
            for j, (a, c, i, x0, y0, w, h, k) in enumerate(zip(
                area.tolist(), crowd.tolist(), image_ids.tolist(), x.tolist(), y.tolist(),
                bw.tolist(), bh.tolist(), cats.tolist()), start=1)))
        f.write('], "categories": ')
        f.write(json.dumps(_coco_categories()))
        f.write('}')


def load_once(kind: str, ann_file: str) -> dict:
    """Build one dataset in this process; the numbers for the parent to read."""
    import warnings

    from mmengine.logging import MMLogger
    MMLogger.get_instance('bench', log_level='ERROR')  # the dataset warnings, not printed
    warnings.simplefilter('ignore')
    if kind == 'ours':
        from mmcenternet.datasets import CenterNetCocoDataset as Dataset
    else:
        from mmdet.datasets import CocoDataset as Dataset
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    dataset = Dataset(ann_file=ann_file, data_prefix=dict(img='train2017/'),
                      filter_cfg=dict(filter_empty_gt=True, min_size=32), pipeline=[],
                      backend_args=None)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    boxes = sum(len(dataset.get_data_info(i)['instances'])
                for i in range(0, len(dataset), 97)) * 97
    return dict(kind=kind, seconds=seconds, peak_mb=peak / 1024,
                import_mb=rss_before / 1024, images=len(dataset), boxes_est=boxes)


def run_child(kind: str, ann_file: str) -> dict:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.run([sys.executable, osp.abspath(__file__), '--child', kind, ann_file],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f'{kind} failed:\n{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='COCO-sized annotation load benchmark')
    parser.add_argument('--out', default='/tmp/mmcn_bench_coco',
                        help='folder of the synthetic annotation file (kept for reuse)')
    parser.add_argument('--repeat', type=int, default=2, help='loads of each dataset')
    parser.add_argument('--child', nargs=2, metavar=('KIND', 'ANN_FILE'),
                        help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(load_once(*args.child)))
        return 0
    os.makedirs(args.out, exist_ok=True)
    ann_file = osp.join(args.out, 'instances_synthetic_train2017.json')
    if not osp.isfile(ann_file):
        start = time.perf_counter()
        write_synthetic_coco(ann_file + '.tmp')
        os.replace(ann_file + '.tmp', ann_file)
        print(f'wrote {ann_file} in {time.perf_counter() - start:.1f} s')
    size_mb = osp.getsize(ann_file) / 2**20
    print(f'{ann_file}: {size_mb:.0f} MB; {os.cpu_count()} CPUs; '
          f'{args.repeat} loads each, alternating, each in a fresh process')
    results = {'ours': [], 'mmdet': []}
    for i in range(args.repeat):
        for kind in (('ours', 'mmdet') if i % 2 == 0 else ('mmdet', 'ours')):
            res = run_child(kind, ann_file)
            results[kind].append(res)
            print(f'  {kind:5s} run {i + 1}: {res["seconds"]:6.1f} s, peak RSS '
                  f'{res["peak_mb"] / 1024:5.2f} GB ({res["images"]} images kept)')
    summary = {kind: (statistics.median(r['seconds'] for r in runs),
                      statistics.median(r['peak_mb'] for r in runs))
               for kind, runs in results.items()}
    (t_ours, m_ours), (t_mmdet, m_mmdet) = summary['ours'], summary['mmdet']
    print(f'\nCenterNetCocoDataset: {t_ours:.1f} s, {m_ours / 1024:.2f} GB peak RSS')
    print(f'mmdet CocoDataset:    {t_mmdet:.1f} s, {m_mmdet / 1024:.2f} GB peak RSS')
    ok = t_ours / t_mmdet <= BUDGET and m_ours / m_mmdet <= BUDGET
    print(f'ours / mmdet: time {t_ours / t_mmdet:.2f}x, memory {m_ours / m_mmdet:.2f}x '
          f'(budget {BUDGET}x: {"within" if ok else "OVER"})')
    return 0 if ok else 1


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        sys.exit(main())
