"""A synthetic set of a custom keypoint definition: house outlines with 5 keypoints (apex,
eaves, base corners), described by ``configs/custom_keypoints/house_5kpt_metainfo.py``, the
template for your own keypoints. COCO format (``annotations/{train,val}.json``, ``images/``).

    python -m litehrnet_mm.datasets.synthetic --task custom --out data/synthetic/custom
"""
import numpy as np

from .common import background, ipt, keypoint_annotation, transform, write_coco_set

NAMES = ('apex', 'left_eave', 'right_eave', 'left_base', 'right_base')
_COLOURS = ((0, 0, 255), (0, 255, 0), (0, 255, 0), (255, 0, 0), (255, 0, 0))


def random_house(rng, width, height):
    """One house image and its 5 keypoints (the left ones on the image's left)."""
    import cv2
    w, h, roof = rng.uniform(0.7, 1.0), rng.uniform(0.5, 0.8), rng.uniform(0.3, 0.6)
    model = {'apex': (rng.uniform(-0.1, 0.1), -h / 2 - roof), 'left_eave': (-w / 2, -h / 2),
             'right_eave': (w / 2, -h / 2), 'left_base': (-w / 2, h / 2),
             'right_base': (w / 2, h / 2)}
    scale = rng.uniform(0.35, 0.5) * min(width, height)
    centre = (width / 2 + rng.uniform(-0.1, 0.1) * width,
              height / 2 + rng.uniform(-0.05, 0.15) * height)
    pts = transform(model, centre, scale, rng.uniform(-20, 20))
    img = background(rng, width, height)
    wall = tuple(int(v) for v in rng.integers(40, 220, size=3))
    outline = np.round([pts[n] for n in ('apex', 'right_eave', 'right_base', 'left_base',
                                         'left_eave')]).astype(np.int32)
    cv2.fillPoly(img, [outline], wall, cv2.LINE_AA)
    cv2.polylines(img, [outline], True, (20, 20, 20), 2, cv2.LINE_AA)
    if rng.uniform() < 0.5:  # half of the houses have their corners marked by type
        for name, colour in zip(NAMES, _COLOURS):
            cv2.circle(img, ipt(pts[name]), max(2, int(scale * 0.05)), colour, -1, cv2.LINE_AA)
    return img, np.array([pts[n] for n in NAMES]), scale


def make_custom(root, num_train=200, num_val=50, seed=0, size=128):
    def sample(rng, image_id):
        img, pts, scale = random_house(rng, size, size)
        return img, [keypoint_annotation(pts, size, size, pad=0.15 * scale)]

    splits = [('annotations/train.json', 'images', '', num_train),
              ('annotations/val.json', 'images', '', num_val)]
    return write_coco_set(root, splits, sample,
                          [dict(id=1, name='house', keypoints=list(NAMES))], seed=seed,
                          task='custom')
