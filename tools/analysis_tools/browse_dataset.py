"""Draw the gt boxes of a config's training set after its pipeline.

    python tools/analysis_tools/browse_dataset.py CONFIG --output-dir vis --not-show
    python tools/analysis_tools/browse_dataset.py CONFIG --output-dir vis --not-show \
        --show-heatmap          # and the codec's gaussian center targets under them
"""
import argparse
import os
import os.path as osp

import numpy as np
from mmengine.config import DictAction

from mmcenternet.engine.config import load_config
from mmcenternet.utils import register_all_modules
from mmcenternet.utils.cli import friendly_errors


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Browse a dataset after its pipeline')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--output-dir', default=None, help='where to write the images')
    parser.add_argument('--not-show', action='store_true', help='do not open windows')
    parser.add_argument('--show-interval', type=float, default=2, help='seconds per image')
    parser.add_argument('--max-images', type=int, default=None, help='stop after N images')
    parser.add_argument('--split', default='train', choices=['train', 'val', 'test'],
                        help='which dataloader of the config to browse')
    parser.add_argument('--show-heatmap', action='store_true',
                        help="draw the head codec's gaussian center targets (class max) "
                        'under the boxes')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    return parser.parse_args(argv)


def to_drawable(inputs) -> np.ndarray:
    """The packed ``(3, H, W)`` BGR tensor (uint8 or float 0-255) as an RGB uint8 image."""
    img = inputs.permute(1, 2, 0).numpy()
    img = np.clip(img, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img[..., ::-1])


def build_codec(cfg):
    """The codec of the config's head (``model.bbox_head.codec``)."""
    from mmcenternet.registry import TASK_UTILS
    from mmcenternet.errors import ConfigError
    codec_cfg = cfg.model.get('bbox_head', {}).get('codec')
    if codec_cfg is None:
        raise ConfigError(f'--show-heatmap: {cfg.filename} has no model.bbox_head.codec')
    return TASK_UTILS.build(codec_cfg)


def main(argv=None):
    args = parse_args(argv)
    register_all_modules(init_default_scope=True)
    cfg = load_config(args.config, args.cfg_options)
    from mmdet.registry import VISUALIZERS

    from mmcenternet.registry import DATASETS
    dataset = DATASETS.build(cfg[f'{args.split}_dataloader'].dataset)
    visualizer = VISUALIZERS.build(cfg.visualizer)
    visualizer.dataset_meta = dataset.metainfo
    codec = build_codec(cfg) if args.show_heatmap else None
    if args.output_dir:
        os.makedirs(args.output_dir, exist_ok=True)
    count = len(dataset) if args.max_images is None else min(args.max_images, len(dataset))
    written = []
    from mmcenternet.utils.progress import track
    for i in track(range(count), desc='browse', unit='img'):
        item = dataset[i]
        sample = item['data_samples']
        gt_boxes = sample.gt_instances.get('bboxes', None)
        if gt_boxes is not None and hasattr(gt_boxes, 'tensor'):
            sample.gt_instances.bboxes = gt_boxes.tensor  # the visualizer takes tensors
        if codec is not None:
            from mmcenternet.visualization.heatmap import gt_heatmap
            sample.gt_heatmap = gt_heatmap(codec, sample.gt_instances,
                                           item['inputs'].shape[-2:])
        name = osp.splitext(osp.basename(sample.img_path))[0] + '.png'
        out_file = osp.join(args.output_dir, name) if args.output_dir else None
        visualizer.add_datasample(name, to_drawable(item['inputs']), sample, draw_pred=False,
                                  show=not args.not_show, wait_time=args.show_interval,
                                  out_file=out_file)
        if out_file:
            written.append(out_file)
    print(f'{count} images browsed' + (f', written to {args.output_dir}' if written else ''))
    return written


if __name__ == '__main__':
    with friendly_errors():
        main()
