"""What the synthetic keypoint sets share: a noisy background with distractors, JPEG files
written atomically, and COCO-style annotation files with the completion marker written last.
"""
import math
import os
import os.path as osp
from typing import Callable, Dict, Iterable, List, Sequence, Tuple

import numpy as np

from ...fileio import mark_complete, mark_incomplete, write_bytes, write_json

Point = Tuple[float, float]


def background(rng: np.random.Generator, width: int, height: int, shapes: int = 3) -> np.ndarray:
    """A noisy plain background (BGR) with ``shapes`` filled rectangles as distractors."""
    import cv2
    base = rng.integers(40, 220, size=3)
    img = np.clip(base + rng.normal(0, 18, size=(height, width, 3)), 0, 255).astype(np.uint8)
    for _ in range(shapes):
        c = tuple(int(v) for v in rng.integers(0, 255, size=3))
        p = (int(rng.uniform(0, width)), int(rng.uniform(0, height)))
        q = (p[0] + int(rng.uniform(5, 30)), p[1] + int(rng.uniform(5, 30)))
        cv2.rectangle(img, p, q, c, -1)
    return img


def at(origin: Point, length: float, degrees: float) -> Point:
    """The point ``length`` away from ``origin`` in direction ``degrees`` (y points down)."""
    a = math.radians(degrees)
    return origin[0] + length * math.cos(a), origin[1] + length * math.sin(a)


def ipt(p: Point) -> Tuple[int, int]:
    """A point as OpenCV's integer pixel coordinates."""
    return int(round(p[0])), int(round(p[1]))


def polyline(img: np.ndarray, points: Sequence[Point], colour, thickness: int,
             closed: bool = False) -> None:
    import cv2
    pts = np.round(np.asarray(points, np.float64)).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(img, [pts], closed, colour, thickness, cv2.LINE_AA)


def transform(points: Dict[str, Point], centre: Point, scale: float, degrees: float,
              mirror: bool = False) -> Dict[str, Point]:
    """Points of a model in unit coordinates placed in an image: optionally mirrored (x -> -x),
    scaled, rotated by ``degrees`` and moved to ``centre``."""
    a = np.radians(degrees)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    out = {}
    for name, (x, y) in points.items():
        v = rot @ np.array([-x if mirror else x, y]) * scale
        out[name] = (float(centre[0] + v[0]), float(centre[1] + v[1]))
    return out


def inside(points: Dict[str, Point], width: int, height: int, margin: float = 2.0) -> bool:
    """Whether every point lies at least ``margin`` pixels inside the image."""
    xy = np.array(list(points.values()))
    return bool((xy >= margin).all() and (xy[:, 0] < width - margin).all()
                and (xy[:, 1] < height - margin).all())


def box_of(points: np.ndarray, pad: float, width: int, height: int) -> List[float]:
    """The ``[x, y, w, h]`` box around ``points`` (N x 2) grown by ``pad`` pixels on each side,
    clipped to the image."""
    x0, y0 = np.maximum(points.min(0) - pad, 0.0)
    x1, y1 = np.minimum(points.max(0) + pad, (width - 1, height - 1))
    return [round(float(v), 2) for v in (x0, y0, x1 - x0, y1 - y0)]


def flat_keypoints(points: np.ndarray, visible: Iterable[int] = None) -> List[float]:
    """COCO's flat ``[x1, y1, v1, x2, ...]`` with visibility 2 (or ``visible``)."""
    v = np.full((len(points), 1), 2.0) if visible is None else \
        np.asarray(list(visible), np.float64).reshape(-1, 1)
    return [round(float(x), 2) for x in np.concatenate([points, v], 1).reshape(-1)]


def encode_jpeg(img: np.ndarray) -> bytes:
    import cv2
    return cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()


def write_coco_set(root: str, splits: Sequence[Tuple[str, str, str, int]],
                   make_sample: Callable[[np.random.Generator, int], Tuple[np.ndarray, list]],
                   categories: List[dict], seed: int = 0, **marker: object) -> str:
    """Write a COCO-style keypoint set under ``root``. For each ``(annotation file, image
    prefix, image folder, count)`` of ``splits`` (paths relative to ``root``), ``count``
    images rendered by ``make_sample(rng, image_id)`` (the image and its annotations, without
    ids) go to ``root/prefix/folder/`` (``file_name`` is ``folder/NAME.jpg``: MMPose joins it
    to the config's ``data_prefix``) and their annotations to one file. Files are written
    atomically and the completion marker (:func:`litehrnet_mm.fileio.is_complete`) last."""
    os.makedirs(root, exist_ok=True)
    mark_incomplete(root)
    image_id = ann_id = 0
    for i, (ann_file, prefix, folder, count) in enumerate(splits):
        rng = np.random.default_rng(seed + i)
        images, annotations = [], []
        for _ in range(count):
            image_id += 1
            img, anns = make_sample(rng, image_id)
            name = osp.join(folder, f'{image_id:06d}.jpg') if folder else f'{image_id:06d}.jpg'
            path = osp.join(root, prefix, name)
            os.makedirs(osp.dirname(path), exist_ok=True)
            write_bytes(path, encode_jpeg(img))
            images.append(dict(id=image_id, file_name=name, width=int(img.shape[1]),
                               height=int(img.shape[0])))
            for ann in anns:
                ann_id += 1
                annotations.append(dict(dict(id=ann_id, image_id=image_id, category_id=1,
                                             iscrowd=0, segmentation=[]), **ann))
        os.makedirs(osp.dirname(osp.join(root, ann_file)), exist_ok=True)
        write_json(osp.join(root, ann_file),
                   dict(images=images, annotations=annotations, categories=categories))
    mark_complete(root, seed=seed, splits=[list(s) for s in splits], **marker)
    return root


def metainfo(dataset_file: str) -> dict:
    """An MMPose data set's parsed metainfo, from its file (``'configs/_base_/datasets/NAME.py'``
    in MMPose, or a path)."""
    import mmpose
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    packaged = osp.join(osp.dirname(mmpose.__file__), '.mim', dataset_file)
    if not osp.isfile(dataset_file) and osp.isfile(packaged):
        dataset_file = packaged  # where MMPose would look, without its warning
    return parse_pose_metainfo(dict(from_file=dataset_file))


def keypoint_names(dataset_file: str) -> List[str]:
    """The keypoint names of an MMPose data set, in its order (:func:`metainfo`)."""
    meta = metainfo(dataset_file)
    return [meta['keypoint_id2name'][i] for i in range(meta['num_keypoints'])]


def wholebody_splits(num_train: int, num_val: int) -> list:
    """COCO-WholeBody's files (:func:`write_coco_set` splits), which MMPose's whole-body, hand
    and face readers of it share."""
    return [('annotations/coco_wholebody_train_v1.0.json', 'train2017', '', num_train),
            ('annotations/coco_wholebody_val_v1.0.json', 'val2017', '', num_val)]


def keypoint_annotation(points: np.ndarray, width: int, height: int, pad: float,
                        visible: Iterable[int] = None) -> dict:
    """The annotation of one instance in COCO's keypoint format, with the MMPose face sets'
    ``center`` and ``scale`` (box size / 200) beside the box."""
    bbox = box_of(points, pad, width, height)
    x, y, w, h = bbox
    flat = flat_keypoints(points, visible)
    return dict(keypoints=flat, num_keypoints=int(sum(1 for v in flat[2::3] if v > 0)),
                bbox=bbox, area=round(w * h, 2), center=[round(x + w / 2, 2), round(y + h / 2, 2)],
                scale=round(max(w, h) / 200.0, 4))


#: COCO-WholeBody's parts: (annotation key, keypoint count)
WHOLEBODY_PARTS = (('keypoints', 17), ('foot_kpts', 6), ('face_kpts', 68),
                   ('lefthand_kpts', 21), ('righthand_kpts', 21))


def wholebody_annotation(width, height, **parts):
    """One COCO-WholeBody annotation: the given parts (``keypoints``, ``face_kpts``,
    ``face_box`` ...), every other part zero and marked invalid, and a person box around all
    given points."""
    ann = {}
    points = []
    for key, num in WHOLEBODY_PARTS:
        flat = parts.get(key, [0.0] * (3 * num))
        ann[key] = flat
        xy = np.array(flat).reshape(-1, 3)
        points.extend(xy[xy[:, 2] > 0, :2].tolist())
    for part in ('face', 'lefthand', 'righthand'):
        ann[f'{part}_box'] = parts.get(f'{part}_box', [0.0, 0.0, 0.0, 0.0])
        ann[f'{part}_valid'] = f'{part}_box' in parts
    ann['foot_valid'] = 'foot_kpts' in parts
    bbox = parts.get('bbox') or box_of(np.array(points), 4.0, width, height)
    ann.update(bbox=bbox, area=round(bbox[2] * bbox[3], 2),
               num_keypoints=int(sum(v > 0 for v in ann['keypoints'][2::3])))
    return ann
