"""mmdet's ``DetVisualizationHook`` plus the predicted center heatmap (``--show-heatmap``)."""
from typing import Optional, Sequence

from mmdet.engine.hooks import DetVisualizationHook

from mmcenternet.registry import HOOKS
from mmcenternet.visualization.heatmap import attach_pred_heatmaps, capture_head_outputs


@HOOKS.register_module()
class CenterNetVisualizationHook(DetVisualizationHook):
    """Draws test (and validation) predictions as mmdet's hook, optionally over the
    predicted class heatmap.

    With ``show_heatmap``, a forward hook on the model's head records the activated
    ``heatmap`` branch of each test / validation batch; each output data sample then gets
    ``pred_heatmap`` (class max, on the original image) before it is drawn, which
    :class:`~mmcenternet.visualization.CenterNetVisualizer` blends under the predicted
    boxes. The evaluator has already seen the outputs at that point: dumps (``--out``) and
    metrics are unchanged.

    Args:
        show_heatmap: Overlay the predicted class heatmap.
        **kwargs: ``DetVisualizationHook`` arguments (``draw``, ``interval``, ``score_thr``,
            ``show``, ``wait_time``, ``test_out_dir``, ``backend_args``).
    """

    def __init__(self, show_heatmap: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.show_heatmap = show_heatmap
        self._capture = None
        self._captured: Optional[list] = None

    # -- recording the head's heatmaps around a loop
    def _start(self, runner) -> None:
        if self.draw and self.show_heatmap and self._capture is None:
            self._capture = capture_head_outputs(runner.model)
            self._captured = self._capture.__enter__()

    def _stop(self) -> None:
        if self._capture is not None:
            self._capture.__exit__(None, None, None)
        self._capture, self._captured = None, None

    def _attach(self, outputs: Sequence) -> None:
        if self._captured:
            attach_pred_heatmaps(outputs, self._captured[-1])
            self._captured.clear()

    def before_test(self, runner) -> None:
        self._start(runner)

    def after_test(self, runner) -> None:
        self._stop()

    def before_val(self, runner) -> None:
        self._start(runner)

    def after_val(self, runner) -> None:
        self._stop()

    def after_test_iter(self, runner, batch_idx: int, data_batch: dict,
                        outputs: Sequence) -> None:
        self._attach(outputs)
        super().after_test_iter(runner, batch_idx, data_batch, outputs)

    def after_val_iter(self, runner, batch_idx: int, data_batch: dict,
                       outputs: Sequence) -> None:
        self._attach(outputs)
        super().after_val_iter(runner, batch_idx, data_batch, outputs)
