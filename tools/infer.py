"""Run a pose or segmentation model from one of our configs on an image, a folder or a video,
with a chosen backend, through MMPose's or MMSeg's own inference API.

    python tools/infer.py CONFIG INPUT (--checkpoint CKPT | --random-weights)
        [--backend pytorch|compiled|onnxruntime|openvino|plain|mmpose] [--bboxes FILE]
        [--out-dir DIR] [--cache-dir DIR] [--threads N] [--kpt-thr 0.3] [--no-vis]

Pose (top-down): each person box of an image (the whole image, or the boxes that a COCO-style
file gives: ``{"images": [...], "annotations": [{"image_id", "bbox": [x, y, w, h]}]}`` or
``[{"file_name", "bbox"}]``) goes through ``inference_topdown``; writes MMPose's
visualizations (``vis/``) and the keypoints in MMPose's instance format: ``keypoints.jsonl``,
one line per image as soon as it is done (a run that stops keeps every image it finished),
and ``keypoints.json`` (all of them) at the end. The boxes file names its images by their
path relative to the input folder (a file name alone serves when no other entry has it).
Segmentation: ``inference_model``; writes MMSeg's overlays (``vis/``) and the label maps
(``pred/``). A video is read frame by frame with OpenCV and written back visualised.

Backends: ``pytorch`` (the deploy form), ``compiled`` (AOTInductor package), ``onnxruntime``,
``openvino`` (see ``litehrnet_mm.inference``); artefacts are built on the first run and cached
(``--cache-dir``). ``plain`` runs the config's model as it trains; ``mmpose`` (pose) the same
with MMPose's own ``LiteHRNet`` class, for comparison. Throughput counts reading, preprocessing,
the model and decoding of every input after one warm-up call (which builds or loads the
artefact); writing the outputs is not counted. Inputs are checked before any work: a missing
or unreadable image or video is an error; a file in a folder that is not an image is skipped
with a warning, and so is an image whose contents do not decode (counted in the summary).
"""
import argparse
import json
import math
import os
import os.path as osp
import sys
import time
import warnings
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

from litehrnet_mm.fileio import write_bytes, write_json

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v')
REFERENCE_BACKENDS = ('plain', 'mmpose')  # the config's model as it trains; MMPose's class


class Inputs:
    """The images of a file or folder, or the frames of a video, checked on construction."""

    def __init__(self, path: str):
        import cv2
        self.path, self.video = path, None
        self.skipped: List[str] = []  # images whose contents did not decode
        if osp.isdir(path):
            names = sorted(os.listdir(path))
            self.files, stems = [], {}
            for name in names:
                full = osp.join(path, name)
                if not osp.isfile(full):
                    continue
                if not name.lower().endswith(IMAGE_EXTENSIONS):
                    warnings.warn(f'skipping {full}: not an image ({", ".join(IMAGE_EXTENSIONS)})')
                    continue
                self._check_image(full)
                stem = osp.splitext(name)[0]
                if stem in stems:
                    raise ValueError(f'{stems[stem]} and {full} would write the same outputs '
                                     f'(named {stem}): rename one')
                stems[stem] = full
                self.files.append(full)
            if not self.files:
                raise ValueError(f'no images in {path} (looked for {", ".join(IMAGE_EXTENSIONS)})')
        elif not osp.isfile(path):
            raise FileNotFoundError(f'input not found: {path}')
        elif path.lower().endswith(VIDEO_EXTENSIONS):
            capture = cv2.VideoCapture(path)
            ok = capture.isOpened() and capture.read()[0]
            self.fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
            self.frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            capture.release()
            if not ok:
                raise ValueError(f'cannot read video {path}: OpenCV opens no frame of it '
                                 f'(damaged, or a codec this OpenCV lacks)')
            self.video = path
        else:
            self._check_image(path)
            self.files = [path]

    @staticmethod
    def _check_image(path: str) -> None:
        import cv2
        if not cv2.haveImageReader(path):
            raise ValueError(f'cannot read image {path}: OpenCV knows no decoder for its '
                             f'contents (damaged, or not the image its name says)')

    def __len__(self) -> int:
        return self.frames if self.video else len(self.files)

    def __iter__(self) -> Iterator[Tuple[str, np.ndarray]]:
        """(name, BGR image) per image or frame."""
        import cv2
        if self.video:
            capture = cv2.VideoCapture(self.video)
            index = 0
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                yield f'{osp.splitext(osp.basename(self.video))[0]}_{index:06d}', frame
                index += 1
            capture.release()
            return
        for path in self.files:
            img = cv2.imread(path)
            if img is None:
                if path not in self.skipped:
                    warnings.warn(f'skipping {path}: its contents do not decode as an image '
                                  f'(damaged?)')
                    self.skipped.append(path)
                continue
            yield self.name_of(path), img

    @staticmethod
    def name_of(path: str) -> str:
        """What the outputs of an image are named: its file name without the extension."""
        return osp.splitext(osp.basename(path))[0]

    def relative(self, path: str) -> str:
        """An image's path relative to the input folder (its file name for a single image)."""
        folder = self.path if osp.isdir(self.path) else osp.dirname(self.path)
        return osp.relpath(path, folder).replace(os.sep, '/')


BOXES_FORMAT = ('a COCO-style file: a dict with "images" ([{"id", "file_name"}]) and '
                '"annotations" ([{"image_id", "bbox": [x, y, w, h]}]), or a list of '
                '{"file_name", "bbox"}; boxes with a category_id other than 1 (person) or '
                'with iscrowd set are left out')


def _box(path: str, i: int, box) -> List[float]:
    """An entry's [x, y, w, h] as [x1, y1, x2, y2]: four finite numbers, width and height
    positive, else an error naming the file and the entry."""
    valid = (isinstance(box, list) and len(box) == 4
             and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                     and math.isfinite(v) for v in box))
    if not valid or box[2] <= 0 or box[3] <= 0:
        raise ValueError(f'{path}: entry {i} has the bbox {box!r}; a box is [x, y, w, h], four '
                         f'finite numbers with w > 0 and h > 0')
    x, y, w, h = box
    return [x, y, x + w, y + h]


def load_boxes(path: str) -> Dict[str, np.ndarray]:
    """Person boxes (N, 4), xyxy, per image (its file name as the file gives it, a path
    relative to the input folder), from a COCO-style file (:data:`BOXES_FORMAT`)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'boxes file not found: {path}')
    try:
        with open(path) as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f'{path} is not JSON ({e}); --bboxes takes {BOXES_FORMAT}') from None
    try:
        if isinstance(data, dict) and 'images' in data and 'annotations' in data:
            names = {im['id']: im['file_name'] for im in data['images']}
            entries = [dict(a, file_name=names.get(a['image_id'])) for a in data['annotations']]
        elif isinstance(data, list) and all(isinstance(d, dict) for d in data):
            entries = data
        else:
            raise KeyError('no "images" and "annotations", and not a list of boxes')
    except (KeyError, TypeError) as e:
        raise ValueError(f'{path}: {e}; --bboxes takes {BOXES_FORMAT}') from None
    boxes: Dict[str, List] = {}
    for i, entry in enumerate(entries):
        name, box = entry.get('file_name'), entry.get('bbox')
        if not isinstance(name, str) or 'bbox' not in entry:
            raise ValueError(f'{path}: entry {i} has no file name or no [x, y, w, h] bbox '
                             f'(detection results with only an image_id need the "images" '
                             f'list that names their files); --bboxes takes {BOXES_FORMAT}')
        if entry.get('category_id', 1) != 1 or entry.get('iscrowd', 0):
            continue
        key = osp.normpath(name).replace(os.sep, '/')
        boxes.setdefault(key, []).append(_box(path, i, box))
    return {k: np.array(v, dtype=np.float32) for k, v in boxes.items()}


def boxes_of_inputs(boxes: Dict[str, np.ndarray], inputs: 'Inputs',
                    source: str) -> Dict[str, Optional[np.ndarray]]:
    """The boxes of each input image, by output name: those given for its path relative to the
    input folder, else for its file name when exactly one entry has it. Refuses an image that
    entries of several paths could mean, naming them."""
    by_name: Dict[str, List[str]] = {}
    for key in boxes:
        by_name.setdefault(osp.basename(key), []).append(key)
    found = {}
    for path in inputs.files:
        relative = inputs.relative(path)
        if relative in boxes:
            found[inputs.name_of(path)] = boxes[relative]
            continue
        keys = by_name.get(osp.basename(relative), [])
        if len(keys) > 1:
            raise ValueError(f'{source} has boxes for {" and ".join(sorted(keys))}, and '
                             f'{path} could be either: name the images by their path '
                             f'relative to the input folder ({relative})')
        found[inputs.name_of(path)] = boxes[keys[0]] if keys else None
    return found


def model_config(cfg, args):
    """``cfg`` for ``args.backend``; refuses a backend that cannot serve it, or whose
    runtime package is missing."""
    from litehrnet_mm.inference import BACKEND_OPTIONS, fast_config
    if args.backend == 'mmpose':
        return with_mmpose_backbone(cfg)
    if args.backend == 'plain':
        return cfg
    given = dict(cache_dir=args.cache_dir, threads=args.threads)
    options = {k: v for k, v in given.items() if v and k in BACKEND_OPTIONS[args.backend]}
    return fast_config(cfg, args.backend, **options)


def with_mmpose_backbone(cfg):
    """``cfg`` with MMPose's own ``LiteHRNet`` class in place of ours (same weights)."""
    from mmengine.config import Config

    from litehrnet_mm.models import arch_to_extra
    cfg = Config(cfg.to_dict(), filename=cfg.filename)
    ours = cfg.model.backbone
    if ours.get('type') != 'litehrnet_mm.LiteHRNet':
        raise ValueError(f'--backend mmpose swaps our litehrnet_mm.LiteHRNet for MMPose\'s; '
                         f'this config\'s backbone is {ours.get("type")}')
    extra = ours.get('extra') or arch_to_extra(ours.get('arch', '18'),
                                               with_head=ours.get('with_head', True))
    cfg.model.backbone = dict(type='mmpose.LiteHRNet', extra=extra,
                              in_channels=ours.get('in_channels', 3))
    return cfg


class PoseTask:
    def __init__(self, model, args, boxes=None):
        from mmpose.registry import VISUALIZERS
        self.model, self.args, self.boxes = model, args, boxes
        self.visualizer = VISUALIZERS.build(dict(model.cfg.visualizer, name=f'infer_{id(self)}'))
        self.visualizer.set_dataset_meta(model.dataset_meta)
        self.records = []

    def infer(self, name: str, img: np.ndarray):
        from mmpose.apis import inference_topdown
        from mmpose.structures import merge_data_samples
        bboxes = None
        if self.boxes is not None:
            bboxes = self.boxes.get(name)
            if bboxes is None:
                warnings.warn(f'{self.args.bboxes} has no boxes for {name}: no persons')
                return None
        return merge_data_samples(inference_topdown(self.model, img, bboxes))

    def open(self, out_dir: str) -> None:
        """Start ``keypoints.jsonl``: each image's record is appended when it is done."""
        self.lines = open(osp.join(out_dir, 'keypoints.jsonl'), 'w')

    def close(self) -> None:
        if getattr(self, 'lines', None) is not None:
            self.lines.close()

    def warm_up(self, img: np.ndarray) -> None:
        """One call on the whole image: builds or loads the backend's artefact."""
        from mmpose.apis import inference_topdown
        inference_topdown(self.model, img)

    def draw(self, img: np.ndarray, result) -> np.ndarray:
        import mmcv
        self.visualizer.add_datasample('result', mmcv.bgr2rgb(img), data_sample=result,
                                       draw_gt=False, draw_bbox=True, show=False,
                                       kpt_thr=self.args.kpt_thr)
        return mmcv.rgb2bgr(self.visualizer.get_image())

    def record(self, name: str, result) -> None:
        from mmpose.structures import split_instances
        instances = [] if result is None else split_instances(result.pred_instances)
        record = json.loads(json.dumps(dict(image=name, instances=instances),
                                       default=lambda v: v.tolist()))  # NumPy values
        self.records.append(record)
        self.lines.write(json.dumps(record) + '\n')
        self.lines.flush()

    def finish(self, out_dir: str) -> str:
        return write_json(osp.join(out_dir, 'keypoints.json'), self.records)


class SegTask:
    def __init__(self, model, args):
        from mmseg.registry import VISUALIZERS
        self.model, self.args = model, args
        vis_cfg = model.cfg.get('visualizer') or dict(type='SegLocalVisualizer')
        self.visualizer = VISUALIZERS.build(dict(vis_cfg, name=f'infer_{id(self)}'))
        meta = getattr(model, 'dataset_meta', None)
        if not meta:  # a checkpoint without dataset_meta: the config's test set's classes
            from mmseg.registry import DATASETS
            meta = DATASETS.get(model.cfg.test_dataloader.dataset.type).METAINFO
        self.visualizer.set_dataset_meta(classes=meta['classes'], palette=meta['palette'])
        self.written = 0

    def infer(self, name: str, img: np.ndarray):
        from mmseg.apis import inference_model
        return inference_model(self.model, img)

    def warm_up(self, img: np.ndarray) -> None:
        self.infer('warm-up', img)

    def draw(self, img: np.ndarray, result) -> np.ndarray:
        import mmcv
        self.visualizer.add_datasample('result', mmcv.bgr2rgb(img), data_sample=result,
                                       draw_gt=False, show=False)
        return mmcv.rgb2bgr(self.visualizer.get_image())

    def open(self, out_dir: str) -> None:
        pass

    def close(self) -> None:
        pass

    def record(self, name: str, result) -> None:
        import cv2
        labels = result.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
        write_bytes(osp.join(self.args.out_dir, 'pred', f'{name}.png'),
                    cv2.imencode('.png', labels)[1].tobytes())
        self.written += 1

    def finish(self, out_dir: str) -> str:
        return osp.join(out_dir, 'pred')


def main(argv=None):
    from litehrnet_mm.inference import BACKENDS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('input', help='an image, a folder of images or a video')
    parser.add_argument('--checkpoint', default=None)
    parser.add_argument('--random-weights', action='store_true',
                        help='run the untrained model (no checkpoint; plumbing checks only)')
    parser.add_argument('--backend', default='pytorch',
                        choices=BACKENDS + REFERENCE_BACKENDS)
    parser.add_argument('--bboxes', default=None, help='COCO-style person boxes (pose)')
    parser.add_argument('--out-dir', default='work_dirs/infer')
    parser.add_argument('--cache-dir', default=None,
                        help='where built artefacts are kept (default: $LITEHRNET_MM_CACHE or '
                        '~/.cache/litehrnet-mm/artefacts)')
    parser.add_argument('--threads', type=int, default=None,
                        help='CPU threads of torch and the runtime (default: theirs)')
    parser.add_argument('--kpt-thr', type=float, default=0.3,
                        help='draw keypoints whose score is above this')
    parser.add_argument('--no-vis', action='store_true', help='write no visualizations')
    args = parser.parse_args(argv)

    # everything is checked before the model is built
    from litehrnet_mm.builder import build_model, config_task, load_config
    try:
        cfg = load_config(args.config)
        task = config_task(cfg)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(str(e))
    if args.checkpoint is None and not args.random_weights:
        sys.exit('no --checkpoint given: pass --checkpoint CKPT, or --random-weights to run '
                 'the untrained model')
    if args.checkpoint is not None and not osp.isfile(args.checkpoint):
        sys.exit(f'checkpoint not found: {args.checkpoint}')
    if args.bboxes and task != 'mmpose':
        sys.exit('--bboxes is for pose configs')
    if args.threads is not None and args.threads < 1:
        sys.exit(f'--threads must be at least 1, got {args.threads}')
    if args.backend == 'mmpose' and task != 'mmpose':
        sys.exit('--backend mmpose (MMPose\'s own LiteHRNet) is for pose configs')
    try:
        inputs = Inputs(args.input)
        if args.bboxes and inputs.video:
            raise ValueError('--bboxes names images; a video takes whole-frame boxes')
        boxes = None
        if args.bboxes:
            boxes = boxes_of_inputs(load_boxes(args.bboxes), inputs, args.bboxes)
        cfg = model_config(cfg, args)
    except (FileNotFoundError, ValueError, ImportError) as e:
        sys.exit(str(e))

    import torch
    from mmengine.utils import ProgressBar
    if args.threads:
        torch.set_num_threads(args.threads)
    os.makedirs(osp.join(args.out_dir, 'vis'), exist_ok=True)
    if task == 'mmseg':
        os.makedirs(osp.join(args.out_dir, 'pred'), exist_ok=True)
    model = build_model(cfg, args.checkpoint)
    job = PoseTask(model, args, boxes) if task == 'mmpose' else SegTask(model, args)

    _, first = next(iter(inputs))
    start = time.perf_counter()
    job.warm_up(first)
    warm_up = time.perf_counter() - start
    backend_runner = getattr(model, 'backend_runner', None)
    for entry in (backend_runner.log if backend_runner else []):
        how = 'built' if entry['built'] else 'loaded'
        what = entry['artefact'] or 'deploy form (in memory)'
        print(f'{args.backend}: {how} {what} in {entry["seconds"]:.1f} s')
    print(f'warm-up call: {warm_up:.1f} s')

    writer, seconds, count = None, 0.0, 0
    progress = ProgressBar(len(inputs))
    items = iter(inputs)
    job.open(args.out_dir)
    try:  # the results so far stay written, and the video is closed, however the run ends
        while True:
            tick = time.perf_counter()
            try:
                name, img = next(items)  # reading counts
            except StopIteration:
                break
            result = job.infer(name, img)
            if result is not None:  # None: an image the boxes file gives no person in
                seconds += time.perf_counter() - tick
                count += 1
            job.record(name, result)
            if not args.no_vis:
                drawn = job.draw(img, result) if result is not None else img
                if inputs.video:
                    if writer is None:
                        writer = _video_writer(args, inputs, drawn)
                    writer.write(drawn)
                else:
                    import cv2
                    write_bytes(osp.join(args.out_dir, 'vis', f'{name}.png'),
                                cv2.imencode('.png', drawn)[1].tobytes())
            progress.update()
    finally:
        if writer is not None:
            writer.release()
        job.close()
    print()
    written = job.finish(args.out_dir)
    rate = count / seconds if seconds else float('nan')
    print(f'{count} {"frames" if inputs.video else "images"} in {seconds:.2f} s: '
          f'{rate:.1f} images/s with backend {args.backend} (reading, preprocessing, model, '
          f'decoding; {torch.get_num_threads()} torch threads)')
    if inputs.skipped:
        print(f'skipped {len(inputs.skipped)} images that did not decode: '
              f'{", ".join(inputs.skipped)}')
    print(f'wrote {written}' + ('' if args.no_vis else f' and {osp.join(args.out_dir, "vis")}'))
    return dict(images=count, seconds=seconds, images_per_second=rate, out_dir=args.out_dir,
                output=written, skipped=len(inputs.skipped))


def _video_writer(args, inputs: Inputs, frame: np.ndarray):
    import cv2
    out = osp.join(args.out_dir, 'vis', osp.splitext(osp.basename(inputs.video))[0] + '.mp4')
    writer = cv2.VideoWriter(out, cv2.VideoWriter_fourcc(*'mp4v'), inputs.fps,
                             (frame.shape[1], frame.shape[0]))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV cannot write {out} (no mp4v encoder); pass --no-vis to '
                           f'skip the visualised video')
    return writer


if __name__ == '__main__':
    main()
