"""tools/infer.py: pose on a folder with boxes and on a video, segmentation, and the refusals of
bad input before any work."""
import importlib.util
import json
import os.path as osp
import re

import numpy as np
import pytest

from litehrnet_mm.inference import init_fast_model


def test_command_on_a_folder_with_boxes_and_a_non_image_file(
        trained_pose, pose_data, artefact_cache, plain_pose, tmp_path, capsys, configs, tool):
    import shutil
    folder = tmp_path / 'images'
    folder.mkdir()
    for img in pose_data['boxes']:
        shutil.copy(img, folder)
    (folder / 'notes.txt').write_text('not an image')
    out = tmp_path / 'out'
    with pytest.warns(UserWarning, match='skipping .*notes.txt: not an image'):
        summary = tool('infer').main([
            configs.synthetic_pose, str(folder), '--checkpoint', trained_pose, '--backend',
            'onnxruntime', '--cache-dir', artefact_cache, '--bboxes', pose_data['ann_file'],
            '--out-dir', str(out)])
    printed = capsys.readouterr().out
    assert f'{pose_data["num_val"]} images in' in printed
    assert 'images/s with backend onnxruntime' in printed
    assert summary['images'] == pose_data['num_val'] and summary['images_per_second'] > 0
    records = {r['image']: r['instances'] for r in json.load(open(out / 'keypoints.json'))}
    for img, expected in plain_pose.items():
        instances = records[osp.splitext(osp.basename(img))[0]]
        assert len(instances) == len(expected)
        for got, ref in zip(instances, expected):
            np.testing.assert_allclose(got['bbox'][0], ref.pred_instances.bboxes[0], atol=1e-3)
            diff = np.abs(np.array(got['keypoints']) - ref.pred_instances.keypoints[0])
            assert (diff.max(-1) <= 0.5).mean() >= 0.9  # near ties aside, as above
    vis = sorted(p.name for p in (out / 'vis').iterdir())
    assert vis == sorted(osp.splitext(osp.basename(i))[0] + '.png' for i in pose_data['boxes'])


def test_command_on_a_video(trained_pose, pose_data, tmp_path, configs, tool):
    import cv2
    video = str(tmp_path / 'clip.mp4')
    frames = [cv2.imread(img) for img in pose_data['boxes']][:3]
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 5, (w, h))
    for frame in frames:
        writer.write(frame)
    writer.release()
    out = tmp_path / 'out'
    summary = tool('infer').main([configs.synthetic_pose, video, '--checkpoint', trained_pose,
                                  '--backend', 'pytorch', '--out-dir', str(out)])
    assert summary['images'] == 3
    records = json.load(open(out / 'keypoints.json'))
    assert [r['image'] for r in records] == [f'clip_{i:06d}' for i in range(3)]
    assert all(len(r['instances']) == 1 for r in records)  # the whole frame
    drawn = cv2.VideoCapture(str(out / 'vis' / 'clip.mp4'))
    count = 0
    while drawn.read()[0]:
        count += 1
    assert count == 3


def test_command_on_segmentation(seg_checkpoint, seg_images, artefact_cache, tmp_path,
                                 tiny_seg_config, tool):
    import cv2
    img_file = str(tmp_path / 'scene.png')
    cv2.imwrite(img_file, seg_images['other'])
    out = tmp_path / 'out'
    summary = tool('infer').main([tiny_seg_config, img_file, '--checkpoint',
                                  seg_checkpoint, '--backend', 'openvino', '--cache-dir',
                                  artefact_cache, '--out-dir', str(out)])
    assert summary['images'] == 1
    labels = cv2.imread(str(out / 'pred' / 'scene.png'), cv2.IMREAD_UNCHANGED)
    assert labels.shape == seg_images['other'].shape[:2]
    from mmseg.apis import inference_model
    expected = inference_model(init_fast_model(tiny_seg_config, seg_checkpoint, 'pytorch'),
                               seg_images['other']).pred_sem_seg.data[0].numpy()
    assert (labels == expected).mean() > 0.999
    overlay = cv2.imread(str(out / 'vis' / 'scene.png'))
    assert overlay.shape == seg_images['other'].shape
    assert np.abs(overlay.astype(int) - seg_images['other']).max() > 50


@pytest.mark.parametrize('case', ['unreadable image', 'unreadable video', 'missing input',
                                  'boxes for segmentation', 'missing checkpoint',
                                  'boxes file not JSON', 'boxes without file names',
                                  'missing runtime package', 'box of None', 'box of text',
                                  'box with NaN', 'box of zero width', 'box of 3 numbers',
                                  'boxes of two images of that name'])
def test_command_refuses_bad_input_before_any_work(case, tmp_path, monkeypatch, configs, tool):
    bad = tmp_path / ('bad.mp4' if 'video' in case else 'bad.png')
    bad.write_bytes(b'\x00garbage')
    config, extra = configs.synthetic_pose, ['--random-weights']
    target, message = str(bad), 'cannot read image .*bad.png'
    if case.startswith('box') or 'package' in case:  # a readable image
        import cv2
        target = str(tmp_path / 'person.png')
        cv2.imwrite(target, np.zeros((64, 48, 3), np.uint8))
    if case == 'boxes file not JSON':
        extra, message = extra + ['--bboxes', str(bad)], 'bad.png is not JSON'
    elif case == 'boxes without file names':
        boxes = tmp_path / 'detections.json'
        boxes.write_text(json.dumps([dict(image_id=1, bbox=[0, 0, 10, 10], score=0.9)]))
        extra, message = extra + ['--bboxes', str(boxes)], \
            'entry 0 has no file name .*detection results with only an image_id'
    elif case.startswith(('box ', 'boxes of')):
        box = {'box of None': None, 'box of text': ['1', 2, 3, 4], 'box with NaN':
               [1, 2, float('nan'), 4], 'box of zero width': [1, 2, 0, 4],
               'box of 3 numbers': [1, 2, 3],
               'boxes of two images of that name': [1, 2, 3, 4]}[case]
        entries = [dict(file_name='cam1/person.png', bbox=[0, 0, 10, 10]),
                   dict(file_name='cam2/person.png' if 'two' in case else 'person.png',
                        bbox=box)]
        boxes = tmp_path / 'detections.json'
        boxes.write_text(json.dumps(entries))
        extra = extra + ['--bboxes', str(boxes)]
        message = (r'has boxes for cam1/person.png and cam2/person.png, and .*person.png could '
                   r'be either' if 'two' in case else
                   rf'detections.json: entry 1 has the bbox {re.escape(repr(box))}; a box is '
                   r'\[x, y, w, h\], four finite numbers with w > 0 and h > 0')
    elif case == 'missing runtime package':
        real = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, 'find_spec',
                            lambda name, *a: None if name == 'onnxruntime' else real(name, *a))
        extra, message = extra + ['--backend', 'onnxruntime'], 'pip install onnxruntime'
    if case == 'unreadable video':
        message = 'cannot read video .*bad.mp4'
    elif case == 'missing input':
        target, message = str(tmp_path / 'nothing.png'), 'input not found'
    elif case == 'boxes for segmentation':
        config, message = configs.synthetic_seg, '--bboxes is for pose configs'
        extra = ['--random-weights', '--bboxes', str(bad)]
    elif case == 'missing checkpoint':
        extra, message = ['--checkpoint', str(tmp_path / 'no.pth')], 'checkpoint not found'
    out = tmp_path / 'out'
    with pytest.raises(SystemExit, match=message):
        tool('infer').main([config, target, '--out-dir', str(out), *extra])
    assert not out.exists()  # refused before any work


def _image(path, seed):
    import cv2
    from litehrnet_mm.datasets.synthetic.pose import random_figure, render
    rng = np.random.default_rng(seed)
    joints, unit = random_figure(rng, 96, 128)
    cv2.imwrite(str(path), render(rng, joints, unit, 96, 128))
    return str(path)


def test_a_damaged_image_is_skipped_and_counted(tmp_path, configs, tool):
    """An image whose header reads but whose data does not decode stops nothing: a warning,
    the others run, the summary counts it."""
    folder = tmp_path / 'images'
    folder.mkdir()
    for i in range(3):
        _image(folder / f'{i}.png', i)
    whole = (folder / '1.png').read_bytes()
    (folder / '1.png').write_bytes(whole[:len(whole) // 3])  # the header and half the data
    out = tmp_path / 'out'
    with pytest.warns(UserWarning, match=r'skipping .*1.png: its contents do not decode'):
        summary = tool('infer').main([configs.synthetic_pose, str(folder), '--random-weights',
                                      '--out-dir', str(out), '--no-vis'])
    assert summary['images'] == 2 and summary['skipped'] == 1
    assert [r['image'] for r in json.load(open(out / 'keypoints.json'))] == ['0', '2']


def test_a_run_that_fails_midway_keeps_what_it_finished(tmp_path, configs, tool, monkeypatch):
    """Results are written as they are made (keypoints.jsonl), and the video writer is closed
    however the run ends: a crash at the third frame keeps two records and a playable video of
    two frames."""
    import cv2
    infer = tool('infer')
    video = str(tmp_path / 'clip.mp4')
    frames = [cv2.imread(_image(tmp_path / f'{i}.png', i)) for i in range(4)]
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 5, (96, 128))
    for frame in frames:
        writer.write(frame)
    writer.release()
    calls = []
    real = infer.PoseTask.infer

    def fails_at_the_third(self, name, img):
        calls.append(name)
        if len(calls) == 3:  # two frames done (the warm-up call runs inference_topdown)
            raise RuntimeError('out of memory')
        return real(self, name, img)
    monkeypatch.setattr(infer.PoseTask, 'infer', fails_at_the_third)
    out = tmp_path / 'out'
    with pytest.raises(RuntimeError, match='out of memory'):
        infer.main([configs.synthetic_pose, video, '--random-weights', '--out-dir', str(out)])
    lines = (out / 'keypoints.jsonl').read_text().splitlines()
    assert [json.loads(line)['image'] for line in lines] == ['clip_000000', 'clip_000001']
    assert len(json.loads(lines[0])['instances']) == 1
    drawn = cv2.VideoCapture(str(out / 'vis' / 'clip.mp4'))
    count = 0
    while drawn.read()[0]:
        count += 1
    assert count == 2
    assert not (out / 'keypoints.json').exists()  # written at the end of a whole run only
