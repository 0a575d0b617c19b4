"""Tiny synthetic pose datasets in COCO and MPII format, for demos and tests without downloads.

Each image shows one stick figure on a noisy background with distractor boxes and two stray
limbs, facing the camera (its left side on the image's right), with random size, position, lean
and limb angles. In half of the images the joints are discs coloured by joint type (left and
right share a colour, so horizontal flipping stays consistent); in the other half only the
geometry of the limbs tells them apart. A model learns it in minutes on a CPU, and the
annotations are exact.

    python -m litehrnet_mm.datasets.synthetic.pose --out data/synthetic_pose
"""
import argparse
import io
import os
import os.path as osp

import numpy as np

from ...fileio import mark_complete, mark_incomplete, write_bytes, write_json
from .common import at, background, encode_jpeg, ipt

COCO_NAMES = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder',
              'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
              'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle')
COCO_SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7],
                 [6, 8], [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5],
                 [4, 6], [5, 7]]
# BGR colour per joint type (left and right joints of a pair share one).
TYPE_COLOURS = {
    'nose': (0, 0, 255), 'eye': (255, 255, 0), 'ear': (255, 0, 255), 'shoulder': (0, 255, 0),
    'elbow': (255, 0, 0), 'wrist': (0, 255, 255), 'hip': (0, 128, 255), 'knee': (128, 0, 255),
    'ankle': (255, 128, 0), 'pelvis': (128, 255, 128), 'thorax': (128, 128, 255),
    'neck': (255, 128, 128), 'head_top': (64, 200, 64)
}
LIMBS = [('left_shoulder', 'left_elbow'), ('left_elbow', 'left_wrist'),
         ('right_shoulder', 'right_elbow'), ('right_elbow', 'right_wrist'),
         ('left_hip', 'left_knee'), ('left_knee', 'left_ankle'), ('right_hip', 'right_knee'),
         ('right_knee', 'right_ankle'), ('left_shoulder', 'right_shoulder'),
         ('left_hip', 'right_hip'), ('left_shoulder', 'left_hip'),
         ('right_shoulder', 'right_hip'), ('neck', 'pelvis')]
MPII_NAMES = ('right_ankle', 'right_knee', 'right_hip', 'left_hip', 'left_knee', 'left_ankle',
              'pelvis', 'thorax', 'neck', 'head_top', 'right_wrist', 'right_elbow',
              'right_shoulder', 'left_shoulder', 'left_elbow', 'left_wrist')


def _type(name):
    for t in TYPE_COLOURS:
        if name.endswith(t):
            return t
    raise KeyError(name)


def random_figure(rng, width, height):
    """Joint positions (name -> (x, y)) of one figure that fits in the image."""
    unit = rng.uniform(0.11, 0.16) * height  # torso length
    lean = rng.uniform(-12, 12)  # degrees from vertical
    for _ in range(100):
        pelvis = (rng.uniform(0.3, 0.7) * width, rng.uniform(0.5, 0.62) * height)
        neck = at(pelvis, 1.6 * unit, -90 + lean)
        j = {'pelvis': pelvis, 'neck': neck}
        j['thorax'] = at(pelvis, 1.45 * unit, -90 + lean)
        perp = lean  # shoulder line direction (0 = horizontal, to the image right)
        j['left_shoulder'] = at(neck, 0.55 * unit, perp)
        j['right_shoulder'] = at(neck, 0.55 * unit, perp + 180)
        j['left_hip'] = at(pelvis, 0.4 * unit, perp)
        j['right_hip'] = at(pelvis, 0.4 * unit, perp + 180)
        for side, sign in (('left', 1), ('right', -1)):
            # arms hang between straight down and raised sideways, on their own side
            upper = 90 - sign * rng.uniform(5, 110)
            lower = upper - sign * rng.uniform(-20, 70)
            j[f'{side}_elbow'] = at(j[f'{side}_shoulder'], 0.8 * unit, upper)
            j[f'{side}_wrist'] = at(j[f'{side}_elbow'], 0.75 * unit, lower)
            thigh = 90 - sign * rng.uniform(0, 30)
            shin = thigh + sign * rng.uniform(-10, 25)
            j[f'{side}_knee'] = at(j[f'{side}_hip'], 1.0 * unit, thigh)
            j[f'{side}_ankle'] = at(j[f'{side}_knee'], 0.95 * unit, shin)
        head = at(neck, 0.55 * unit, -90 + lean)
        j['head_top'] = at(neck, 1.0 * unit, -90 + lean)
        j['nose'] = head
        j['left_eye'] = at(head, 0.17 * unit, -60 + lean)
        j['right_eye'] = at(head, 0.17 * unit, -120 + lean)
        j['left_ear'] = at(head, 0.3 * unit, -10 + lean)
        j['right_ear'] = at(head, 0.3 * unit, -170 + lean)
        xy = np.array(list(j.values()))
        if xy[:, 0].min() > 4 and xy[:, 1].min() > 4 and xy[:, 0].max() < width - 4 \
                and xy[:, 1].max() < height - 4:
            return j, unit
    raise RuntimeError('could not place a figure; use a larger image')


def render(rng, joints, unit, width, height):
    import cv2
    img = background(rng, width, height)
    skin = tuple(int(v) for v in rng.integers(30, 120, size=3))
    thick = max(2, int(unit / 8))
    for _ in range(2):  # stray limbs, so that not every line belongs to the figure
        p = rng.uniform(0, 1, size=2) * (width, height)
        q = at(p, unit, rng.uniform(0, 360))
        cv2.line(img, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), skin, thick, cv2.LINE_AA)
    pt = lambda n: ipt(joints[n])  # noqa: E731
    cv2.circle(img, pt('nose'), int(0.4 * unit), skin, -1)
    for a, b in LIMBS:
        cv2.line(img, pt(a), pt(b), skin, thick, cv2.LINE_AA)
    # Half of the figures have joints marked by type, the others only by the limbs' geometry.
    marked = rng.uniform() < 0.5
    r = max(2, int(unit / 9))
    for name in joints:
        colour = TYPE_COLOURS[_type(name)] if marked else skin
        cv2.circle(img, pt(name), r, colour, -1, cv2.LINE_AA)
    return img


def _samples(folder, num, seed, width, height, first_id=1):
    """Render ``num`` figures into ``folder``; yield (id, file name, joints, torso length)."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    for idx in range(first_id, first_id + num):
        joints, unit = random_figure(rng, width, height)
        img = render(rng, joints, unit, width, height)
        name = f'{idx:06d}.jpg'  # MMPose's MPII reader takes the image id from the name
        write_bytes(osp.join(folder, name), encode_jpeg(img))
        yield idx, name, joints, unit


def make_coco_keypoints(root, num_train=200, num_val=50, seed=0, width=192, height=192):
    """Write ``root/{train,val}/*.jpg`` and ``root/annotations/person_keypoints_{split}.json``,
    each file atomically and the completion marker (:func:`litehrnet_mm.fileio.is_complete`)
    last."""
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    mark_incomplete(root)
    for split, num, s in (('train', num_train, seed), ('val', num_val, seed + 1)):
        images, anns = [], []
        for idx, name, joints, unit in _samples(osp.join(root, split), num, s, width, height):
            kpts = np.array([joints[n] for n in COCO_NAMES])
            pad = 0.45 * unit
            x0, y0 = kpts.min(0) - pad
            x1, y1 = kpts.max(0) + pad
            x0, y0 = max(x0, 0.0), max(y0, 0.0)
            w, h = min(x1, width - 1) - x0, min(y1, height - 1) - y0
            images.append(dict(id=idx, file_name=name, width=width, height=height))
            flat = np.concatenate([kpts, np.full((17, 1), 2.0)], 1).reshape(-1)
            anns.append(dict(id=idx, image_id=idx, category_id=1, iscrowd=0,
                             keypoints=[round(float(v), 2) for v in flat], num_keypoints=17,
                             bbox=[round(float(v), 2) for v in (x0, y0, w, h)],
                             area=round(float(w * h), 2)))
        coco = dict(images=images, annotations=anns, categories=[
            dict(id=1, name='person', supercategory='person', keypoints=list(COCO_NAMES),
                 skeleton=COCO_SKELETON)
        ])
        write_json(osp.join(root, 'annotations', f'person_keypoints_{split}.json'), coco)
    mark_complete(root, num_train=num_train, num_val=num_val, seed=seed, width=width,
                  height=height)
    return root


def make_mpii(root, num_train=200, num_val=50, seed=0, width=192, height=192):
    """Write ``root/images/*.jpg``, ``root/annotations/mpii_{train,val}.json`` and the
    ``mpii_gt_val.mat`` head boxes that MMPose's MPII evaluation reads, each file atomically
    and the completion marker last."""
    from scipy.io import savemat
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    mark_incomplete(root)
    first_id = 1
    for split, num, s in (('train', num_train, seed), ('val', num_val, seed + 1)):
        anns, headboxes = [], []
        for _, image, joints, unit in _samples(osp.join(root, 'images'), num, s, width, height,
                                               first_id):
            kpts = np.array([joints[n] for n in MPII_NAMES])
            lo, hi = kpts.min(0), kpts.max(0)
            scale = float(max(hi - lo) * 1.25 / 200.0)
            # MMPose's MpiiDataset moves the centre by -1 and down by 15/200 of the scale
            centre = (lo + hi) / 2 + 1 - np.array([0, 15.0 * scale])
            anns.append(dict(image=image, center=[float(c) for c in centre], scale=scale,
                             joints=[[float(x), float(y)] for x, y in kpts],
                             joints_vis=[1] * 16))
            top, neck = np.array(joints['head_top']), np.array(joints['neck'])
            half = np.linalg.norm(top - neck) / 2
            c = (top + neck) / 2
            headboxes.append([[c[0] - half, c[1] - half], [c[0] + half, c[1] + half]])
        first_id += num
        write_json(osp.join(root, 'annotations', f'mpii_{split}.json'), anns)
        if split == 'val':
            mat = io.BytesIO()
            savemat(mat, dict(headboxes_src=np.transpose(np.array(headboxes), [1, 2, 0])))
            write_bytes(osp.join(root, 'annotations', 'mpii_gt_val.mat'), mat.getvalue())
    mark_complete(root, num_train=num_train, num_val=num_val, seed=seed, width=width,
                  height=height)
    return root


def main(argv=None):
    parser = argparse.ArgumentParser(description='Write the synthetic pose datasets.')
    parser.add_argument('--out', default='data/synthetic_pose')
    parser.add_argument('--num-train', type=int, default=200)
    parser.add_argument('--num-val', type=int, default=50)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    make_coco_keypoints(osp.join(args.out, 'coco'), args.num_train, args.num_val, args.seed)
    make_mpii(osp.join(args.out, 'mpii'), args.num_train, args.num_val, args.seed)
    print(f'wrote {args.out}/coco and {args.out}/mpii')


if __name__ == '__main__':
    main()
