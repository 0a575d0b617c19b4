"""Synthetic four-legged animals seen from the side, in the annotation layouts of AP-10K
(17 keypoints), Animal-Pose (20) and Macaque (COCO's 17 names).

A body, neck, head with ears and eyes, a tail and four legs of three segments, with random
size, proportions, gait, head carriage, position, a tilt of up to 15 degrees, facing left or
right. The legs nearer the camera are drawn over the body, the far ones behind it in a darker
shade. An animal facing right shows its left side (and one facing left its right), so that
MMPose's flip pairs map a mirrored animal onto itself. In half of the images the joints are
discs coloured by type.

    python -m litehrnet_mm.datasets.synthetic --task ap10k --out data/synthetic/ap10k
"""
import math

import numpy as np

from .common import (at, background, inside, ipt, keypoint_annotation, keypoint_names, transform,
                     write_coco_set)

_TYPE_COLOURS = {'eye': (255, 255, 0), 'ear': (255, 0, 255), 'nose': (0, 0, 255),
                 'throat': (128, 128, 255), 'withers': (128, 255, 128), 'neck': (255, 128, 128),
                 'tail': (64, 200, 64), 'shoulder': (0, 255, 0), 'f_elbow': (255, 0, 0),
                 'f_knee': (0, 128, 255), 'f_paw': (0, 255, 255), 'hip': (128, 0, 255),
                 'b_elbow': (255, 128, 0), 'b_knee': (200, 200, 200), 'b_paw': (40, 40, 40)}


def animal_model(rng):
    """The joints of one random animal facing right, in unit coordinates: ``(side, type)`` ->
    point, side ``'near'``, ``'far'`` or ``''``."""
    length = rng.uniform(0.9, 1.3)  # body length
    height = rng.uniform(0.45, 0.7)  # leg length
    j = {}
    withers, tail = (length / 2, 0.0), (-length / 2, 0.03)
    j['', 'withers'] = withers
    j['', 'tail'] = tail
    head_angle = rng.uniform(-70, -20)  # the neck, up and forward
    j['', 'neck'] = at(withers, 0.22, head_angle)
    head = at(withers, 0.45, head_angle)
    j['', 'throat'] = at(withers, 0.3, head_angle + 25)
    j['', 'nose'] = at(head, 0.28, rng.uniform(-5, 40))
    for side, dx in (('near', 0.03), ('far', -0.03)):
        j[side, 'eye'] = (head[0] + 0.06 + dx, head[1] - 0.05)
        j[side, 'ear'] = (head[0] - 0.08 + dx, head[1] - 0.12)
        phase = 1 if side == 'near' else -1
        # the far shoulder and hip a little behind and above the near ones, as in a side view
        lift = 0.0 if side == 'near' else -0.04
        for end, top in (('f', (withers[0] - 0.05 + dx, 0.12 + lift)),
                         ('b', (tail[0] + 0.08 + dx, 0.1 + lift))):
            swing = phase * rng.uniform(5, 30) * (1 if end == 'f' else -1)
            upper = at(top, height * 0.4, 90 + swing)
            lower = at(upper, height * 0.35, 90 + swing * 0.3 + (15 if end == 'b' else -5))
            paw = at(lower, height * 0.3, 90 - swing * 0.5)
            j[side, 'shoulder' if end == 'f' else 'hip'] = top
            j[side, f'{end}_elbow'], j[side, f'{end}_knee'], j[side, f'{end}_paw'] = \
                upper, lower, paw
    return j


#: each data set's names: its keypoint name -> (side of the left keypoints, type)
_NAMES = {
    'ap10k': {'Eye': 'eye', 'Nose': 'nose', 'Neck': 'neck', 'Root of tail': 'tail',
              'Shoulder': 'shoulder', 'Elbow': 'f_elbow', 'F_Paw': 'f_paw', 'Hip': 'hip',
              'Knee': 'b_elbow', 'B_Paw': 'b_paw'},
    'animalpose': {'Eye': 'eye', 'EarBase': 'ear', 'Nose': 'nose', 'Throat': 'throat',
                   'TailBase': 'tail', 'Withers': 'withers', 'F_Elbow': 'f_elbow',
                   'B_Elbow': 'b_elbow', 'F_Knee': 'f_knee', 'B_Knee': 'b_knee',
                   'F_Paw': 'f_paw', 'B_Paw': 'b_paw'},
    'macaque': {'nose': 'nose', 'eye': 'eye', 'ear': 'ear', 'shoulder': 'shoulder',
                'elbow': 'f_elbow', 'wrist': 'f_paw', 'hip': 'hip', 'knee': 'b_elbow',
                'ankle': 'b_paw'},
}


def _key(name: str, dataset: str, facing_right: bool):
    """The model joint of a data set's keypoint name: ``L_Eye`` / ``left_eye`` is the near
    eye of an animal facing right, the far one of an animal facing left."""
    side = ''
    for prefix, s in (('L_', 'left'), ('R_', 'right'), ('left_', 'left'), ('right_', 'right')):
        if name.startswith(prefix):
            name, side = name[len(prefix):], s
            break
    if side:
        side = 'near' if (side == 'left') == facing_right else 'far'
    return side, _NAMES[dataset][name]


def render(rng, joints, scale, width, height):
    import cv2
    img = background(rng, width, height)
    fur = rng.integers(60, 220, size=3)
    near_c = tuple(int(v) for v in fur)
    far_c = tuple(int(v) for v in fur * 0.55)
    t = max(2, int(scale * 0.07))
    p = lambda side, typ: ipt(joints[side, typ])  # noqa: E731
    for side, c in (('far', far_c), ('near', near_c)):
        for chain in (('shoulder', 'f_elbow', 'f_knee', 'f_paw'),
                      ('hip', 'b_elbow', 'b_knee', 'b_paw')):
            for a, b in zip(chain, chain[1:]):
                cv2.line(img, p(side, a), p(side, b), c, t, cv2.LINE_AA)
        if side == 'far':  # the body covers the far legs' tops
            w, tl = joints['', 'withers'], joints['', 'tail']
            centre = ipt(((w[0] + tl[0]) / 2, (w[1] + tl[1]) / 2 + 0.08 * scale))
            axes = (int(abs(w[0] - tl[0]) / 2 + 0.12 * scale), int(0.16 * scale))
            angle = math.degrees(math.atan2(w[1] - tl[1], w[0] - tl[0]))
            cv2.ellipse(img, centre, axes, angle, 0, 360, near_c, -1, cv2.LINE_AA)
            cv2.line(img, p('', 'withers'), p('', 'neck'), near_c, int(t * 1.8), cv2.LINE_AA)
            cv2.line(img, p('', 'neck'), p('', 'nose'), near_c, int(t * 1.5), cv2.LINE_AA)
            e, n = joints['near', 'eye'], joints['', 'nose']  # the head, eye to muzzle
            cv2.ellipse(img, ipt(((e[0] + n[0]) / 2, (e[1] + n[1]) / 2)),
                        (int(0.14 * scale), int(0.09 * scale)),
                        math.degrees(math.atan2(n[1] - e[1], n[0] - e[0])), 0, 360, near_c, -1,
                        cv2.LINE_AA)
            for side_ in ('far', 'near'):
                cv2.circle(img, p(side_, 'ear'), max(2, int(0.05 * scale)), far_c, -1,
                           cv2.LINE_AA)
            tip = ipt(at(tl, 0.3 * scale, rng.uniform(100, 200)))
            cv2.line(img, p('', 'tail'), tip, near_c, max(1, t // 2), cv2.LINE_AA)
    marked = rng.uniform() < 0.5
    r = max(1, int(scale * 0.03))
    for (side, typ), q in joints.items():
        colour = _TYPE_COLOURS[typ] if marked else (0, 0, 0)
        if side == 'far':
            colour = tuple(int(v * 0.6) for v in colour)
        cv2.circle(img, ipt(q), r, colour, -1, cv2.LINE_AA)
    return img


def place_animal(rng, width, height):
    """A random animal in an image: its joints in pixels, its size, and whether it faces
    right."""
    for _ in range(100):
        model = animal_model(rng)
        pts = np.array(list(model.values()))
        mid = (pts.min(0) + pts.max(0)) / 2
        extent = max(pts.max(0) - pts.min(0))
        centred = {k: (v[0] - mid[0], v[1] - mid[1]) for k, v in model.items()}
        scale = rng.uniform(0.55, 0.75) * min(width, height) / extent
        facing_right = bool(rng.uniform() < 0.5)
        centre = (width / 2 + rng.uniform(-0.08, 0.08) * width,
                  height / 2 + rng.uniform(-0.08, 0.08) * height)
        joints = transform(centred, centre, scale, rng.uniform(-15, 15), mirror=not facing_right)
        if inside(joints, width, height, margin=0.1 * scale):  # room for the tail and paws
            return joints, scale, facing_right
    raise RuntimeError('could not place an animal inside the image')


#: each data set: (metainfo file, (annotation file, image prefix) of train and val)
LAYOUTS = {
    'ap10k': ('configs/_base_/datasets/ap10k.py',
              ('annotations/ap10k-train-split1.json', 'data'),
              ('annotations/ap10k-val-split1.json', 'data')),
    'animalpose': ('configs/_base_/datasets/animalpose.py',
                   ('annotations/animalpose_train.json', ''),
                   ('annotations/animalpose_val.json', '')),
    'macaque': ('configs/_base_/datasets/macaque.py',
                ('annotations/macaque_train.json', 'images'),
                ('annotations/macaque_test.json', 'images')),
}


def animal_keypoints(joints, names, dataset, facing_right):
    return np.array([joints[_key(n, dataset, facing_right)] for n in names])


def make_animal(root, dataset='ap10k', num_train=200, num_val=50, seed=0, size=160):
    """A synthetic animal set in the layout of ``dataset``'s MMPose config (``LAYOUTS``; for
    AP-10K also ``ap10k-test-split1.json``: the val images')."""
    if dataset not in LAYOUTS:
        raise ValueError(f'unknown animal data set {dataset!r}: use one of {tuple(LAYOUTS)}')
    meta, (train, prefix), (val, _) = LAYOUTS[dataset]
    names = keypoint_names(meta)

    def sample(rng, image_id):
        joints, scale, facing_right = place_animal(rng, size, size)
        img = render(rng, joints, scale, size, size)
        pts = animal_keypoints(joints, names, dataset, facing_right)
        return img, [keypoint_annotation(pts, size, size, pad=0.1 * scale)]

    splits = [(train, prefix, 'train', num_train), (val, prefix, 'val', num_val)]
    if dataset == 'ap10k':
        splits.append(('annotations/ap10k-test-split1.json', prefix, 'test', num_val))
    categories = [dict(id=1, name='animal', keypoints=names)]
    return write_coco_set(root, splits, sample, categories, seed=seed, task=dataset)
