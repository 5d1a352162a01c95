"""One predictor behind every demo: inference, optional heatmaps, drawing and JSON records.

``demo/image_demo.py``, ``demo/video_demo.py``, ``demo/webcam_demo.py`` and
``demo/mono3d_demo.py`` all build a :class:`Predictor` from their command line
(:func:`add_predictor_arguments`, :func:`predictor_from_args`) and differ only in where images
(and their meta information, e.g. a 3D model's ``cam2img``) come from and where the drawn
ones go. Nothing here knows the task: results are the model's ``pred_instances`` whatever
their fields (boxes, keypoints, 3D boxes, landmarks), drawn by the config's visualizer
(``CenterNetVisualizer`` draws every field a task has registered a drawer for) and written to
JSON field by field, so a task that lands later works in the demos without changes.
"""
import json
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn

from .inference import inference_batch, init_backend_detector


class Predictor:
    """A detector, its visualizer and the demo options.

    Args:
        model: A detector from :func:`~mmcenternet.apis.init_detector`.
        score_thr: Instances drawn (not those written to JSON) need a higher score.
        show_heatmap: Attach each image's predicted class heatmap (``pred_heatmap``) and
            draw it under the instances.
        batch_size: Images per forward in :meth:`predict`.
    """

    def __init__(self, model: nn.Module, score_thr: float = 0.3, show_heatmap: bool = False,
                 batch_size: int = 1) -> None:
        from mmdet.registry import VISUALIZERS
        if show_heatmap:
            from mmcenternet.visualization.heatmap import heatmap_head
            heatmap_head(model)  # fails early for a model without one
        self.model = model
        self.score_thr = score_thr
        self.show_heatmap = show_heatmap
        self.batch_size = batch_size
        self.visualizer = VISUALIZERS.build(model.cfg.visualizer)
        self.visualizer.dataset_meta = model.dataset_meta
        self._pipelines: dict = {}

    @property
    def classes(self) -> List[str]:
        return list(self.model.dataset_meta.get('classes') or [])

    def predict(self, imgs: Sequence[Union[str, np.ndarray, dict]]) -> List:
        """``DetDataSample`` per image path / BGR array / dict with the image's meta
        information, e.g. ``dict(img_path=..., cam2img=P2)`` (``pred_heatmap`` when
        asked)."""
        if not self.show_heatmap:
            return inference_batch(self.model, imgs, self.batch_size, self._pipelines)
        from mmcenternet.visualization.heatmap import (attach_pred_heatmaps,
                                                       capture_head_outputs)
        samples = []
        for start in range(0, len(imgs), self.batch_size):
            with capture_head_outputs(self.model) as captured:
                batch = inference_batch(self.model, imgs[start:start + self.batch_size],
                                        self.batch_size, self._pipelines)
            attach_pred_heatmaps(batch, captured[-1])
            samples.extend(batch)
        return samples

    def draw(self, image: np.ndarray, sample, name: str = 'image', show: bool = False,
             wait_time: float = 0, out_file: Optional[str] = None) -> np.ndarray:
        """Draws a sample's predictions on its RGB image; returns the RGB drawing.

        ``show`` opens a window (``wait_time`` seconds, 0: until a key); ``out_file``
        writes the drawing.
        """
        self.visualizer.add_datasample(name, image, sample, draw_gt=False,
                                       pred_score_thr=self.score_thr, show=show,
                                       wait_time=wait_time, out_file=out_file)
        return self.visualizer.get_image()

    def num_drawn(self, sample) -> int:
        """Instances above the score threshold."""
        return int((sample.pred_instances.scores > self.score_thr).sum())

    def record(self, sample, **extra: Any) -> Dict[str, Any]:
        """A JSON-ready record of one sample: every array field of ``pred_instances``
        (``bboxes`` as ``[x1, y1, x2, y2]`` in original-image pixels, ``scores``,
        ``labels``, and the task's own fields), ``label_names`` and ``extra``."""
        out: Dict[str, Any] = dict(extra)
        if 'img_path' in sample and sample.img_path is not None and 'img_path' not in out:
            out['img_path'] = sample.img_path
        out['ori_shape'] = [int(v) for v in sample.ori_shape[:2]]
        instances = sample.pred_instances
        for key, value in instances.items():
            value = getattr(value, 'tensor', value)  # mmdet box types
            if isinstance(value, torch.Tensor):
                value = value.detach().cpu().numpy()
            if isinstance(value, np.ndarray):
                out[key] = value.tolist()
        if 'labels' in out and self.classes:
            out['label_names'] = [self.classes[i] if 0 <= i < len(self.classes) else str(i)
                                  for i in out['labels']]
        return out

    def save_records(self, path: Optional[str], records: List[dict], unit: str) -> None:
        """Writes the records (:func:`write_predictions`) when ``path`` is given."""
        if path:
            write_predictions(path, records, self.classes)
            print(f'predictions of {len(records)} {unit} -> {path}')


def write_predictions(path: str, records: List[dict], classes: Sequence[str]) -> None:
    """Writes ``{"classes": [...], "predictions": [record, ...]}`` to a JSON file."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = f'{path}.tmp'
    with open(tmp, 'w') as f:
        json.dump(dict(classes=list(classes), predictions=records), f)
    os.replace(tmp, path)


def check_json_path(path: Optional[str], option: str = '--pred-out') -> None:
    """A one-line error for an output path that is not a ``.json`` file."""
    if path is not None and not path.lower().endswith('.json'):
        from mmcenternet.errors import ConfigError
        raise ConfigError(f'{option} must be a .json file, got {path}')


def add_predictor_arguments(parser) -> None:
    """The options every demo takes: config, checkpoint and how to predict and draw."""
    from mmcenternet.deploy.backend import add_backend_argument
    from mmcenternet.engine.launch import add_strict_load_argument
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file (the .onnx file with '
                        '--backend onnxruntime)')
    parser.add_argument('--device', default='cpu', help='cpu or cuda:0')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='score threshold of the drawn instances')
    parser.add_argument('--show-heatmap', action='store_true',
                        help='draw the predicted class heatmap (class max) under the '
                        'instances')
    parser.add_argument('--pred-out', metavar='FILE.json',
                        help='write every prediction (all instances, all fields) to this '
                        'JSON file')
    add_strict_load_argument(parser)
    add_backend_argument(parser)


def predictor_from_args(args, batch_size: int = 1) -> Predictor:
    """The :class:`Predictor` of a demo's parsed arguments."""
    check_json_path(args.pred_out)
    model = init_backend_detector(args.config, args.checkpoint, args.backend, args.device,
                                  strict=not args.no_strict_load)
    return Predictor(model, score_thr=args.score_thr, show_heatmap=args.show_heatmap,
                     batch_size=batch_size)
