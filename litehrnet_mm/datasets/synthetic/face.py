"""Synthetic faces with landmark contours, in the annotation layouts of WFLW (98 landmarks),
300W and COCO-WholeBody-Face (68, the iBUG scheme) and COFW (29).

A frontal cartoon face: jaw line, eyebrows, eyes with pupils, nose bridge and wings, outer and
inner lips, each drawn from the same curves its landmarks are sampled on, so that the
annotations are exact. Faces vary in size, position, in-plane rotation (up to 30 degrees),
eye and mouth opening and brow height. Every scheme's landmarks run as the real data sets'
do (contours from the image's left to its right, the subject's right eye first), so that the
flip pairs of MMPose's metainfo map a mirrored face onto itself (tests/datasets).

    python -m litehrnet_mm.datasets.synthetic --task wflw --out data/synthetic/wflw
"""
import math
from typing import Dict, List

import numpy as np

from .common import (background, box_of, flat_keypoints, keypoint_annotation, polyline, transform,
                     wholebody_annotation, wholebody_splits, write_coco_set)

SCHEMES = ('wflw', '300w', 'cofw')


def _arc(cx, cy, rx, ry, start, stop, n):
    """``n`` points on an ellipse from angle ``start`` to ``stop`` (degrees; y points down)."""
    t = np.radians(np.linspace(start, stop, n))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in t]


def _loop(cx, cy, rx, ry_top, ry_bottom, n_top, n_bottom):
    """A closed contour (eye, lips): the leftmost point, ``n_top`` points along the upper edge,
    the rightmost point, ``n_bottom`` along the lower edge back, clockwise in the image."""
    top = _arc(cx, cy, rx, ry_top, 180, 360, n_top + 2)
    bottom = _arc(cx, cy, rx, ry_bottom, 0, 180, n_bottom + 2)
    return top + bottom[1:-1]


def face_model(rng: np.random.Generator) -> Dict[str, list]:
    """The contours of one random face in unit coordinates (x right, y down, about -1..1),
    each densely sampled and in landmark order (left to right, clockwise for loops)."""
    eye_open = rng.uniform(0.06, 0.13)
    mouth_open = rng.uniform(0.0, 0.12)
    brow = rng.uniform(-0.62, -0.5)
    m = {}
    m['jaw'] = _arc(0.0, -0.2, 0.92, 1.2, 180, 0, 99)
    for side, sx in (('r', -1), ('l', 1)):  # the subject's right is the image's left
        cx = 0.42 * sx
        m[f'brow_{side}_upper'] = _arc(cx, brow + 0.12, 0.3, 0.14, 200, 340, 41)
        m[f'brow_{side}_lower'] = _arc(cx, brow + 0.19, 0.27, 0.1, 340, 200, 41)
        m[f'eye_{side}'] = _loop(cx, -0.22, 0.2, eye_open, eye_open * 0.8, 3, 3)
        m[f'pupil_{side}'] = [(cx, -0.22)]
    m['bridge'] = [(0.0, y) for y in np.linspace(-0.22, 0.22, 41)]
    m['wings'] = [(x, 0.3 + 0.06 * (1 - (x / 0.2) ** 2)) for x in np.linspace(-0.2, 0.2, 41)]
    m['lips_outer'] = _loop(0.0, 0.62, 0.36, 0.1 + mouth_open / 2, 0.14 + mouth_open / 2, 5, 5)
    m['lips_inner'] = _loop(0.0, 0.62, 0.27, 0.02 + mouth_open / 2, 0.02 + mouth_open / 2, 3, 3)
    return m


def _take(curve: list, n: int) -> List[tuple]:
    """``n`` points spread evenly along a densely sampled curve, its ends included."""
    idx = np.round(np.linspace(0, len(curve) - 1, n)).astype(int)
    return [curve[i] for i in idx]


def landmarks(model: Dict[str, list], scheme: str) -> np.ndarray:
    """The landmarks of ``scheme`` (K x 2) on a face model, in the data set's order."""
    m = model
    if scheme == '300w':  # iBUG 68: jaw 17, brows 5 + 5, nose 4 + 5, eyes 6 + 6, lips 12 + 8
        pts = (_take(m['jaw'], 17) + _take(m['brow_r_upper'], 5) + _take(m['brow_l_upper'], 5) +
               _take(m['bridge'], 4) + _take(m['wings'], 5) + _six(m['eye_r']) +
               _six(m['eye_l']) + m['lips_outer'] + m['lips_inner'])
    elif scheme == 'wflw':  # jaw 33, brows 9 + 9, nose 4 + 5, eyes 8 + 8, lips 12 + 8, pupils
        pts = _take(m['jaw'], 33)
        for side in 'rl':
            pts += _take(m[f'brow_{side}_upper'], 5) + _take(m[f'brow_{side}_lower'], 6)[1:-1]
        pts += (_take(m['bridge'], 4) + _take(m['wings'], 5) + m['eye_r'] + m['eye_l'] +
                m['lips_outer'] + m['lips_inner'] + m['pupil_r'] + m['pupil_l'])
    elif scheme == 'cofw':  # 29: brows, eyes, pupils, nose, mouth, chin
        br, bl = m['brow_r_upper'], m['brow_l_upper']
        er, el = m['eye_r'], m['eye_l']
        lo, li = m['lips_outer'], m['lips_inner']
        pts = [br[0], bl[-1], br[-1], bl[0],  # brow outer corners, inner corners
               br[20], m['brow_r_lower'][20], bl[20], m['brow_l_lower'][20],  # brow middles
               er[0], el[4], er[4], el[0],  # eye outer corners (the NME's pair), inner corners
               er[2], er[6], el[2], el[6],  # upper and lower lids
               m['pupil_r'][0], m['pupil_l'][0],
               m['wings'][0], m['wings'][-1], m['bridge'][-1], m['wings'][20],  # nose
               lo[0], lo[6], lo[3], li[2], li[6], lo[9], m['jaw'][49]]  # mouth, chin
    else:
        raise ValueError(f'unknown face landmark scheme {scheme!r}: use one of {SCHEMES}')
    return np.asarray(pts, np.float64)


def _six(eye: list) -> list:
    """iBUG's six eye points from the eight of a loop: corner, two upper, corner, two lower."""
    return [eye[0], eye[1], eye[3], eye[4], eye[5], eye[7]]


def render(rng, model, centre, scale, degrees, width, height, img=None):
    """The face (skin, brows, eyes, nose, lips) drawn into ``img`` or a new background."""
    import cv2
    img = background(rng, width, height) if img is None else img
    place = lambda pts: list(transform(dict(enumerate(pts)), centre, scale,  # noqa: E731
                                       degrees).values())
    skin = tuple(int(v) for v in rng.integers(60, 200, size=3))
    dark = tuple(int(v) for v in rng.integers(0, 60, size=3))
    jaw = place(model['jaw'])
    forehead = place(_arc(0.0, -0.2, 0.92, 0.95, 360, 180, 40))
    cv2.fillPoly(img, [np.round(np.array(jaw + forehead[1:-1])).astype(np.int32)], skin,
                 cv2.LINE_AA)
    polyline(img, jaw, dark, 2 if scale > 20 else 1)
    t = max(1, int(scale * 0.07))
    for side in 'rl':
        polyline(img, place(model[f'brow_{side}_upper'] + model[f'brow_{side}_lower']), dark, t,
                 closed=True)
        eye = place(model[f'eye_{side}'])
        cv2.fillPoly(img, [np.round(np.array(eye)).astype(np.int32)], (235, 235, 235),
                     cv2.LINE_AA)
        polyline(img, eye, dark, 1, closed=True)
        p = place(model[f'pupil_{side}'])[0]
        cv2.circle(img, (int(round(p[0])), int(round(p[1]))), max(1, int(scale * 0.05)), dark,
                   -1, cv2.LINE_AA)
    polyline(img, place(model['bridge']), dark, 1)
    polyline(img, place(model['wings']), dark, 2 if scale > 20 else 1)
    lips = place(model['lips_outer'])
    cv2.fillPoly(img, [np.round(np.array(lips)).astype(np.int32)], (60, 40, 170), cv2.LINE_AA)
    cv2.fillPoly(img, [np.round(np.array(place(model['lips_inner']))).astype(np.int32)],
                 (30, 10, 60), cv2.LINE_AA)
    return img


def draw_face(rng, scheme, centre, scale, degrees, width, height, img=None):
    """A random face drawn at ``centre`` (``scale``: pixels per unit, its half width), into
    ``img`` or a new background; the image and the face's landmarks in ``scheme``."""
    model = face_model(rng)
    img = render(rng, model, centre, scale, degrees, width, height, img)
    pts = landmarks(model, scheme)
    return img, np.array(list(transform(dict(enumerate(pts)), centre, scale, degrees).values()))


def random_face(rng, scheme, width, height):
    """One face image, its landmarks in ``scheme`` and its size."""
    scale = rng.uniform(0.3, 0.4) * min(width, height)
    centre = (width / 2 + rng.uniform(-0.08, 0.08) * width,
              height / 2 + rng.uniform(-0.06, 0.06) * height)
    img, pts = draw_face(rng, scheme, centre, scale, rng.uniform(-30, 30), width, height)
    return img, pts, scale


#: the annotation files each data set's MMPose config reads (train, val); images: images/
LAYOUTS = {
    'wflw': ('annotations/face_landmarks_wflw_train.json',
             'annotations/face_landmarks_wflw_test.json'),
    '300w': ('annotations/face_landmarks_300w_train.json',
             'annotations/face_landmarks_300w_valid.json'),
    'cofw': ('annotations/cofw_train.json', 'annotations/cofw_test.json'),
}


def make_face(root, scheme='wflw', num_train=200, num_val=50, seed=0, width=128, height=128):
    """A synthetic face set in the layout of ``scheme``'s MMPose config (``LAYOUTS``): COCO
    files with the ``center`` and ``scale`` the face data sets carry."""
    if scheme not in LAYOUTS:
        raise ValueError(f'unknown face data set {scheme!r}: use one of {tuple(LAYOUTS)}')

    def sample(rng, image_id):
        img, pts, scale = random_face(rng, scheme, width, height)
        return img, [keypoint_annotation(pts, width, height, pad=0.12 * scale)]

    train, val = LAYOUTS[scheme]
    num = len(landmarks(face_model(np.random.default_rng(0)), scheme))
    return write_coco_set(root, [(train, 'images', '', num_train), (val, 'images', '', num_val)],
                          sample,
                          [dict(id=1, name='face', keypoints=[str(i) for i in range(num)])],
                          seed=seed, task=scheme, width=width, height=height)


def make_coco_wholebody_face(root, num_train=200, num_val=50, seed=0, size=128):
    """Face images in COCO-WholeBody's format (``coco_wholebody_{train,val}_v1.0.json``,
    ``train2017/``, ``val2017/``), one face each (``face_kpts``, ``face_box``), the other parts
    unannotated, for MMPose's ``CocoWholeBodyFaceDataset``."""
    def sample(rng, image_id):
        img, pts, scale = random_face(rng, '300w', size, size)  # the same 68 points
        return img, [wholebody_annotation(size, size, face_kpts=flat_keypoints(pts),
                                          face_box=box_of(pts, 0.12 * scale, size, size))]

    return write_coco_set(root, wholebody_splits(num_train, num_val), sample,
                          [dict(id=1, name='person')], seed=seed,
                          task='coco_wholebody_face')
