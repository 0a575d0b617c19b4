"""Synthetic whole-body figures in COCO-WholeBody's format (133 keypoints: 17 body, 6 feet,
68 face, 21 per hand).

The stick figures of :mod:`.pose` with feet (heel, big and small toe), a face on the head
(the 68 iBUG landmarks of :mod:`.face`) and a hand at each wrist along the forearm (the 21
joints of :mod:`.hand`, the left hand the mirror of the right). The annotations carry every
part's box and validity, as COCO-WholeBody's do.

    python -m litehrnet_mm.datasets.synthetic --task coco_wholebody --out data/synthetic/cwb
"""
import math

import numpy as np

from . import face, hand, pose
from .common import (box_of, flat_keypoints, ipt, keypoint_names, transform, wholebody_annotation,
                     wholebody_splits, write_coco_set)


def _feet(joints, unit):
    """Heel, big and small toe of each foot, the toes pointing outward."""
    feet = {}
    for side, sign in (('left', 1), ('right', -1)):
        ax, ay = joints[f'{side}_ankle']
        feet[f'{side}_heel'] = (ax - sign * 0.05 * unit, ay + 0.12 * unit)
        feet[f'{side}_big_toe'] = (ax + sign * 0.3 * unit, ay + 0.2 * unit)
        feet[f'{side}_small_toe'] = (ax + sign * 0.22 * unit, ay + 0.1 * unit)
    return feet


def _hand(rng, joints, side, unit):
    """The 21 joints of the hand at ``side``'s wrist, pointing along the forearm."""
    model = hand.hand_model(rng)
    (ex, ey), (wx, wy) = joints[f'{side}_elbow'], joints[f'{side}_wrist']
    degrees = math.degrees(math.atan2(wy - ey, wx - ex)) + 90  # the model's fingers point up
    return transform(model, (wx, wy), 0.3 * unit, degrees, mirror=side == 'left')


def random_wholebody(rng, width, height):
    """One figure: its image and its 133 keypoints by part."""
    import cv2
    joints, unit = pose.random_figure(rng, width, height)
    img = pose.render(rng, joints, unit, width, height)
    feet = _feet(joints, unit)
    skin = tuple(int(v) for v in img[int(joints['pelvis'][1]), int(joints['pelvis'][0])])
    for side in ('left', 'right'):
        for toe in ('big_toe', 'small_toe'):
            cv2.line(img, ipt(feet[f'{side}_heel']), ipt(feet[f'{side}_{toe}']), skin,
                     max(1, int(unit / 12)), cv2.LINE_AA)
    hands = {side: _hand(rng, joints, side, unit) for side in ('left', 'right')}
    for side in ('left', 'right'):
        hand.render(rng, hands[side], 0.3 * unit, width, height, img)
    lean = math.degrees(math.atan2(joints['head_top'][0] - joints['neck'][0],
                                   joints['neck'][1] - joints['head_top'][1]))
    img, face_pts = face.draw_face(rng, '300w', joints['nose'], 0.36 * unit, lean, width,
                                   height, img)
    return img, joints, feet, face_pts, hands, unit


def make_coco_wholebody(root, num_train=200, num_val=50, seed=0, width=192, height=192):
    """A synthetic COCO-WholeBody set (``annotations/coco_wholebody_{train,val}_v1.0.json``,
    ``train2017/``, ``val2017/``), for MMPose's ``CocoWholeBodyDataset``."""
    body_names = pose.COCO_NAMES
    foot_names = keypoint_names('configs/_base_/datasets/coco_wholebody.py')[17:23]
    hand_names = keypoint_names('configs/_base_/datasets/coco_wholebody_hand.py')

    def flat(pts):  # points that the hands or feet put outside the image are not labelled
        inside = (pts[:, 0] >= 0) & (pts[:, 0] < width) & (pts[:, 1] >= 0) & (pts[:, 1] < height)
        return flat_keypoints(np.where(inside[:, None], pts, 0.0), 2 * inside)

    def sample(rng, image_id):
        img, joints, feet, face_pts, hands, unit = random_wholebody(rng, width, height)
        body = np.array([joints[n] for n in body_names])
        foot = np.array([feet[n] for n in foot_names])
        parts = dict(keypoints=flat(body), foot_kpts=flat(foot), face_kpts=flat(face_pts),
                     face_box=box_of(face_pts, 0.05 * unit, width, height))
        everything = [body, foot, face_pts]
        for side in ('left', 'right'):
            pts = np.array([hands[side][n] for n in hand_names])
            parts[f'{side}hand_kpts'] = flat(pts)
            parts[f'{side}hand_box'] = box_of(pts, 0.05 * unit, width, height)
            everything.append(pts)
        parts['bbox'] = box_of(np.concatenate(everything), 0.3 * unit, width, height)
        return img, [wholebody_annotation(width, height, **parts)]

    return write_coco_set(root, wholebody_splits(num_train, num_val), sample,
                          [dict(id=1, name='person')], seed=seed,
                          task='coco_wholebody', width=width, height=height)
