"""Synthetic hands with finger chains, in the annotation layouts of OneHand10K, RHD, FreiHAND
(224x224 crops) and COCO-WholeBody-Hand (hands in COCO-WholeBody's format).

A palm and five fingers of three segments each, seen from the palm side, left or right hand,
with random spread, curl, size, position and rotation (any angle). In half of the images the
joints are discs coloured by finger (the others show only the geometry: the thumb is short
and low). The 21 keypoints are MMPose's (wrist, then each finger from its base to its tip),
written in each data set's own order (RHD's runs from the tips).

    python -m litehrnet_mm.datasets.synthetic --task onehand10k --out data/synthetic/onehand10k
"""
import math

import numpy as np

from .common import (background, box_of, flat_keypoints, inside, ipt, keypoint_annotation,
                     keypoint_names, polyline, transform, wholebody_annotation, wholebody_splits,
                     write_coco_set)

FINGERS = ('thumb', 'forefinger', 'middle_finger', 'ring_finger', 'pinky_finger')
#: BGR colour of each finger's joints in the marked images
FINGER_COLOURS = {'thumb': (0, 0, 255), 'forefinger': (0, 255, 0), 'middle_finger': (255, 0, 0),
                  'ring_finger': (0, 255, 255), 'pinky_finger': (255, 0, 255)}
# base of each finger on the palm (unit coordinates, wrist at the origin, fingers up), its
# direction (degrees from straight up, toward the thumb negative) and segment lengths
_BASES = {'thumb': (-0.28, -0.22, -55, (0.28, 0.22, 0.2)),
          'forefinger': (-0.2, -0.75, -10, (0.32, 0.2, 0.17)),
          'middle_finger': (-0.04, -0.8, -2, (0.35, 0.22, 0.18)),
          'ring_finger': (0.12, -0.76, 6, (0.32, 0.2, 0.17)),
          'pinky_finger': (0.26, -0.66, 14, (0.25, 0.16, 0.14))}


def hand_model(rng):
    """The 21 joints of one random hand by MMPose's names, in unit coordinates (the wrist at
    the origin, the fingers pointing up, the thumb on the left)."""
    joints = {'wrist': (0.0, 0.0)}
    for finger, (bx, by, direction, lengths) in _BASES.items():
        spread = direction * rng.uniform(0.6, 1.6) + rng.uniform(-5, 5)
        curl = rng.uniform(0, 35 if finger == 'thumb' else 60)
        p = (bx, by) if finger != 'thumb' else (bx * 0.5, by * 0.3)
        joints[f'{finger}1'] = p
        angle = spread
        for seg, length in enumerate(lengths, start=2):
            a = math.radians(angle - 90)  # 0 degrees: straight up
            p = (p[0] + length * math.cos(a), p[1] + length * math.sin(a))
            joints[f'{finger}{seg}'] = p
            angle += curl * (1 if finger != 'thumb' else 0.5) * rng.uniform(0.5, 1.0)
    return joints


def render(rng, joints, scale, width, height, img=None):
    """The hand drawn (palm, fingers, joints) into ``img`` or a new background."""
    import cv2
    img = background(rng, width, height) if img is None else img
    skin = tuple(int(v) for v in rng.integers(40, 200, size=3))
    palm = [joints[n] for n in ('wrist', 'thumb1', 'forefinger1', 'middle_finger1',
                                'ring_finger1', 'pinky_finger1')]
    cv2.fillPoly(img, [np.round(np.array(palm)).astype(np.int32)], skin, cv2.LINE_AA)
    thick = max(2, int(scale * 0.09))
    for finger in FINGERS:
        chain = [joints[f'{finger}{i}'] for i in range(1, 5)]
        polyline(img, chain, skin, thick)
    marked = rng.uniform() < 0.5
    r = max(1, int(scale * 0.035))
    for name, p in joints.items():
        finger = name.rstrip('1234')
        colour = FINGER_COLOURS.get(finger, (255, 255, 255)) if marked else skin
        cv2.circle(img, ipt(p), r, colour, -1, cv2.LINE_AA)
    return img


def place_hand(rng, width, height, fill=0.6, margin=2.0):
    """A random hand placed in an image, its largest extent ``fill`` of the image's smaller
    side (times 0.8 to 1.1), every joint ``margin`` pixels inside: its joints by name in
    pixels, and its size."""
    for _ in range(100):
        model = hand_model(rng)
        pts = np.array(list(model.values()))
        mid = (pts.min(0) + pts.max(0)) / 2
        centred = {k: (v[0] - mid[0], v[1] - mid[1]) for k, v in model.items()}
        scale = fill * min(width, height) * rng.uniform(0.8, 1.1) / max(pts.max(0) - pts.min(0))
        centre = (width / 2 + rng.uniform(-0.1, 0.1) * width,
                  height / 2 + rng.uniform(-0.1, 0.1) * height)
        mirror = bool(rng.uniform() < 0.5)  # left or right hand
        joints = transform(centred, centre, scale, rng.uniform(-180, 180), mirror)
        if inside(joints, width, height, margin):
            return joints, scale
    raise RuntimeError('could not place a hand inside the image; use a smaller fill')


#: each data set: (its MMPose metainfo file, annotation files (train, val) and image size)
LAYOUTS = {
    'onehand10k': ('configs/_base_/datasets/onehand10k.py', 'annotations/onehand10k_train.json',
                   'annotations/onehand10k_test.json', 128),
    'rhd': ('configs/_base_/datasets/rhd2d.py', 'annotations/rhd_train.json',
            'annotations/rhd_test.json', 128),
    'freihand': ('configs/_base_/datasets/freihand2d.py', 'annotations/freihand_train.json',
                 'annotations/freihand_val.json', 224),  # MMPose's reader: 224x224 crops
}


def make_hand(root, dataset='onehand10k', num_train=200, num_val=50, seed=0):
    """A synthetic hand set in the layout of ``dataset``'s MMPose config (``LAYOUTS``); for
    FreiHAND also ``freihand_test.json`` (its config tests on a third split): the val
    images'."""
    if dataset not in LAYOUTS:
        raise ValueError(f'unknown hand data set {dataset!r}: use one of {tuple(LAYOUTS)}')
    meta, train, val, size = LAYOUTS[dataset]
    names = keypoint_names(meta)
    # FreiHAND's images are crops around the hand, which MMPose's config crops again to their
    # central 80 % (GetBBoxCenterScale with padding 0.8): the hand stays inside that
    fill, margin = (0.65, 0.1 * size + 4) if dataset == 'freihand' else (0.6, 2.0)

    def sample(rng, image_id):
        joints, scale = place_hand(rng, size, size, fill, margin)
        img = render(rng, joints, scale, size, size)
        pts = np.array([joints[n] for n in names])
        return img, [keypoint_annotation(pts, size, size, pad=0.15 * scale)]

    splits = [(train, '', 'train', num_train), (val, '', 'val', num_val)]
    if dataset == 'freihand':
        splits.append(('annotations/freihand_test.json', '', 'test', num_val))
    categories = [dict(id=1, name='hand', keypoints=names)]
    return write_coco_set(root, splits, sample, categories, seed=seed, task=dataset)


def make_coco_wholebody_hand(root, num_train=200, num_val=50, seed=0, size=128):
    """Hand images in COCO-WholeBody's format (``coco_wholebody_{train,val}_v1.0.json``,
    ``train2017/``, ``val2017/``), one hand each (``lefthand_*`` or ``righthand_*``), the other
    parts unannotated, for MMPose's ``CocoWholeBodyHandDataset``."""
    names = keypoint_names('configs/_base_/datasets/coco_wholebody_hand.py')

    def sample(rng, image_id):
        joints, scale = place_hand(rng, size, size)
        img = render(rng, joints, scale, size, size)
        pts = np.array([joints[n] for n in names])
        side = 'left' if rng.uniform() < 0.5 else 'right'
        return img, [wholebody_annotation(size, size, **{
            f'{side}hand_kpts': flat_keypoints(pts),
            f'{side}hand_box': box_of(pts, 0.15 * scale, size, size)})]

    return write_coco_set(root, wholebody_splits(num_train, num_val), sample,
                          [dict(id=1, name='person')], seed=seed,
                          task='coco_wholebody_hand')
