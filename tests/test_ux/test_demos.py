"""The image, video and webcam demos on toy data: files and frames written, boxes equal to
mmdet's one-image-at-a-time inference, the heatmap and frame-rate overlays drawn."""
import json
import os

import cv2
import numpy as np
import pytest
import torch

from test_engine.conftest import run_main

TOY_CLASSES = ['circle', 'square', 'triangle', 'cross']


def reference_boxes(cfg, ckpt, imgs):
    """``mmdet.apis.inference_detector`` (one image per forward) on paths / BGR arrays."""
    from mmcenternet.apis import inference_detector, init_detector
    model = init_detector(cfg, ckpt)
    return [inference_detector(model, img).pred_instances for img in imgs]


def assert_same_predictions(records, references):
    assert len(records) == len(references)
    for record, ref in zip(records, references):
        np.testing.assert_allclose(record['bboxes'], ref.bboxes.numpy(), atol=1e-3)
        np.testing.assert_allclose(record['scores'], ref.scores.numpy(), atol=1e-5)
        assert record['labels'] == ref.labels.tolist()
        assert record['label_names'] == [TOY_CLASSES[i] for i in record['labels']]


def write_video(path, frames, fps=5):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), fps,
                             frames[0].shape[1::-1])
    for frame in frames:
        writer.write(frame)
    writer.release()


def read_video(path):
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


@pytest.fixture(scope='module')
def toy_video(toy_model):
    tmp, _, _ = toy_model
    frames = [cv2.imread(str(tmp / 'toy' / 'val' / f'{i:06d}.png')) for i in range(4)]
    path = tmp / 'clip.avi'
    write_video(path, frames)
    return path


def test_image_demo_batches_a_folder_and_writes_json(toy_model, score_thr, capsys,
                                                     monkeypatch, tmp_path):
    _, cfg, ckpt = toy_model
    monkeypatch.setenv('MMCN_NO_PROGRESS', '0')
    folder = toy_model[0] / 'toy' / 'val'
    out, pred = tmp_path / 'out', tmp_path / 'preds.json'
    code, stdout, err = run_main('demo/image_demo.py', [folder, cfg, ckpt, '--out-dir', out,
                                                        '--batch-size', 3, '--pred-out', pred,
                                                        '--score-thr', score_thr],
                                 capsys, monkeypatch)
    assert code == 0, err[-2000:]
    names = sorted(os.listdir(folder))
    assert sorted(os.listdir(out)) == names
    data = json.loads(pred.read_text())
    assert data['classes'] == TOY_CLASSES
    assert [os.path.basename(r['img_path']) for r in data['predictions']] == names
    assert all(r['ori_shape'] == [64, 64] for r in data['predictions'])
    assert_same_predictions(data['predictions'],
                            reference_boxes(cfg, ckpt, [str(folder / n) for n in names]))
    # a drawn image differs from its input (boxes above the threshold are drawn)
    assert f'000001.png: 3 instances above {score_thr}' in stdout
    drawn, src = cv2.imread(str(out / names[1])), cv2.imread(str(folder / names[1]))
    assert drawn.shape == src.shape and np.abs(drawn.astype(int) - src).max() > 50
    assert '100%' in err  # the progress bar


def test_image_demo_show_and_heatmap(toy_model, score_thr, capsys, monkeypatch, tmp_path):
    from mmcenternet.visualization import CenterNetVisualizer
    _, cfg, ckpt = toy_model
    img = toy_model[0] / 'toy' / 'val' / '000001.png'
    shown = []
    monkeypatch.setattr(CenterNetVisualizer, 'show',
                        lambda self, image, win_name='', wait_time=0, **kw:
                        shown.append((win_name, image.shape)))
    outputs = {}
    for extra in ([], ['--show-heatmap']):
        out = tmp_path / f'out{len(extra)}'
        code, _, err = run_main('demo/image_demo.py', [img, cfg, ckpt, '--out-dir', out,
                                                       '--show', '--score-thr', score_thr,
                                                       *extra], capsys, monkeypatch)
        assert code == 0, err[-2000:]
        outputs[bool(extra)] = cv2.imread(str(out / img.name))
    assert shown == [('000001.png', (64, 64, 3))] * 2
    # the heatmap changes pixels that the boxes alone leave as they are
    assert np.abs(outputs[True].astype(int) - outputs[False]).max() > 10


def test_video_demo_frames_and_boxes(toy_model, toy_video, capsys, monkeypatch, tmp_path):
    _, cfg, ckpt = toy_model
    monkeypatch.setenv('MMCN_NO_PROGRESS', '0')
    out, pred = tmp_path / 'out.avi', tmp_path / 'video.json'
    code, stdout, err = run_main('demo/video_demo.py', [toy_video, cfg, ckpt, '--out', out,
                                                        '--pred-out', pred, '--show-heatmap'],
                                 capsys, monkeypatch)
    assert code == 0, err[-2000:]
    assert '4 frames' in stdout and '4/4' in err  # the progress bar knows the length
    inputs, outputs = read_video(toy_video), read_video(out)
    assert len(outputs) == len(inputs) == 4
    assert all(f.shape == (64, 64, 3) for f in outputs)
    assert all(np.abs(a.astype(int) - b).mean() > 2 for a, b in zip(inputs, outputs))
    records = json.loads(pred.read_text())['predictions']
    assert [r['frame'] for r in records] == [0, 1, 2, 3]
    # the boxes are those of the image API on the decoded frames
    assert_same_predictions(records, reference_boxes(cfg, ckpt, inputs))


def test_video_demo_errors(toy_model, capsys, monkeypatch, tmp_path):
    _, cfg, ckpt = toy_model
    code, _, err = run_main('demo/video_demo.py', [tmp_path / 'missing.mp4', cfg, ckpt,
                                                   '--out', tmp_path / 'o.mp4'],
                            capsys, monkeypatch)
    assert code == 2 and err.startswith(f'error: no video file at {tmp_path}'), err
    code, _, err = run_main('demo/video_demo.py', [tmp_path / 'x.mp4', cfg, ckpt],
                            capsys, monkeypatch)
    assert code == 2 and 'nothing to do' in err.splitlines()[0], err


def test_webcam_demo_on_a_video_source(toy_model, toy_video, capsys, monkeypatch, tmp_path):
    _, cfg, ckpt = toy_model
    out = tmp_path / 'frames'
    code, stdout, err = run_main('demo/webcam_demo.py', [cfg, ckpt, '--source', toy_video,
                                                         '--no-show', '--out-dir', out,
                                                         '--max-frames', 3, '--pred-out',
                                                         tmp_path / 'w.json'],
                                 capsys, monkeypatch)
    assert code == 0, err[-2000:]
    assert sorted(os.listdir(out)) == ['000000.png', '000001.png', '000002.png']
    frame = cv2.imread(str(out / '000002.png'))
    corner = frame[:8, :20]  # the frame-rate box: black, with white text
    assert (corner.max(-1) < 30).mean() > 0.3 and corner.max() > 200
    assert len(json.loads((tmp_path / 'w.json').read_text())['predictions']) == 3


def test_webcam_demo_camera_that_cannot_open(toy_model, capsys, monkeypatch):
    _, cfg, ckpt = toy_model
    code, _, err = run_main('demo/webcam_demo.py', [cfg, ckpt, '--camera-id', 97,
                                                    '--no-show'], capsys, monkeypatch)
    assert code == 2 and err.startswith('error: OpenCV cannot open camera 97'), err


def test_frame_rate_counts_the_last_frames(monkeypatch):
    from mmcenternet.apis import video
    clock = iter([0.0, 0.1, 0.2, 0.3, 0.5])
    monkeypatch.setattr(video.time, 'perf_counter', lambda: next(clock))
    rate = video.FrameRate(window=2)
    assert [round(rate.tick(), 6) for _ in range(5)] == [0, 10, 10, 10, round(2 / 0.3, 6)]


def test_predictor_batches_match_single_images(toy_model):
    from mmcenternet.apis import Predictor, init_detector
    tmp, cfg, ckpt = toy_model
    imgs = [cv2.imread(str(tmp / 'toy' / 'val' / f'{i:06d}.png')) for i in range(3)]
    model = init_detector(cfg, ckpt)
    batched = Predictor(model, batch_size=3).predict(imgs)
    single = Predictor(model, batch_size=1).predict(imgs)
    for a, b in zip(batched, single):
        torch.testing.assert_close(a.pred_instances.bboxes, b.pred_instances.bboxes)
        torch.testing.assert_close(a.pred_instances.scores, b.pred_instances.scores)


def test_a_task_field_is_drawn_and_written_without_demo_changes(toy_model, monkeypatch):
    """A task that lands later registers a drawer for its result field: the demos' drawing
    calls it and their JSON records carry the field (the demos know no task)."""
    from mmcenternet.apis import Predictor, init_detector
    from mmcenternet.visualization import visualizer as vis_module
    tmp, cfg, ckpt = toy_model
    calls = []

    def draw_centers(visualizer, instances):
        calls.append(instances.my_points.shape)
        visualizer.draw_points(instances.my_points.reshape(-1, 2), colors='lime', sizes=[40])

    monkeypatch.setitem(vis_module.INSTANCE_DRAWERS, 'my_points', draw_centers)
    predictor = Predictor(init_detector(cfg, ckpt), score_thr=0.0)
    img = tmp / 'toy' / 'val' / '000001.png'
    sample = predictor.predict([str(img)])[0]
    boxes = sample.pred_instances.bboxes
    sample.pred_instances.my_points = ((boxes[:, :2] + boxes[:, 2:]) / 2)[:, None]
    image = cv2.imread(str(img))[..., ::-1].copy()
    plain = predictor.draw(image, sample)
    assert calls == [(100, 1, 2)]
    del sample.pred_instances.my_points
    without = predictor.draw(image, sample)
    assert np.abs(plain.astype(int) - without).max() > 50  # the points were drawn
    sample.pred_instances.my_points = torch.zeros(100, 1, 2)
    assert predictor.record(sample)['my_points'] == [[[0.0, 0.0]]] * 100


def test_progress_bars_can_be_turned_off(toy_model, capsys, monkeypatch, tmp_path):
    _, cfg, ckpt = toy_model
    img = toy_model[0] / 'toy' / 'val' / '000001.png'
    monkeypatch.setenv('MMCN_NO_PROGRESS', '1')
    code, _, err = run_main('demo/image_demo.py', [img, cfg, ckpt, '--out-dir', tmp_path],
                            capsys, monkeypatch)
    assert code == 0 and 'demo:' not in err and '1/1' not in err
