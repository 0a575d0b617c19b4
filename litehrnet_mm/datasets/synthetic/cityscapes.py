"""A tiny synthetic data set in Cityscapes layout, for demos and tests without downloads.

Street-like scenes: sky above a horizon, buildings with windows, vegetation blobs, a road with
lane marks and sidewalks below, cars, poles with traffic signs, people. Each class has its own
texture and a colour range, and positions and sizes vary, so the classes are learnable but not
trivially separable by colour alone. Written as MMSeg's ``CityscapesDataset`` reads it:

    root/leftImg8bit/{train,val}/synth/synth_000000_000001_leftImg8bit.png
    root/gtFine/{train,val}/synth/synth_000000_000001_gtFine_labelTrainIds.png

with Cityscapes train ids (0 road, 1 sidewalk, 2 building, 5 pole, 7 traffic sign,
8 vegetation, 10 sky, 11 person, 13 car; 255 unlabelled).

    python -m litehrnet_mm.datasets.synthetic.cityscapes --out data/synthetic_cityscapes
"""
import argparse
import os
import os.path as osp

import numpy as np

from ...fileio import mark_complete, mark_incomplete, write_bytes

ROAD, SIDEWALK, BUILDING, POLE, SIGN, VEGETATION, SKY, PERSON, CAR = 0, 1, 2, 5, 7, 8, 10, 11, 13
USED_CLASSES = (ROAD, SIDEWALK, BUILDING, POLE, SIGN, VEGETATION, SKY, PERSON, CAR)


def _jitter(rng, base, spread=25):
    return tuple(int(np.clip(c + rng.integers(-spread, spread + 1), 0, 255)) for c in base)


def render_scene(rng, height=256, width=512):
    """One image (BGR uint8) and its label map (train ids, uint8)."""
    import cv2
    img = np.zeros((height, width, 3), np.uint8)
    lab = np.full((height, width), 255, np.uint8)

    def fill(mask_img, cls, colour, noise=8):
        m = mask_img > 0
        img[m] = np.clip(np.array(colour) + rng.normal(0, noise, size=(m.sum(), 3)), 0,
                         255).astype(np.uint8)
        lab[m] = cls

    def poly(points):
        m = np.zeros((height, width), np.uint8)
        cv2.fillPoly(m, [np.array(points, np.int32)], 1)
        return m

    def rect(x0, y0, x1, y1):
        m = np.zeros((height, width), np.uint8)
        cv2.rectangle(m, (int(x0), int(y0)), (int(x1), int(y1)), 1, -1)
        return m

    horizon = int(height * rng.uniform(0.38, 0.5))
    # sky: smooth gradient
    fill(rect(0, 0, width, horizon), SKY, _jitter(rng, (235, 200, 150)), noise=3)
    # buildings along the horizon, with windows
    x = 0
    while x < width:
        w = int(rng.uniform(0.12, 0.3) * width)
        top = int(horizon * rng.uniform(0.1, 0.7))
        colour = _jitter(rng, (90, 100, 120), 40)
        fill(rect(x, top, x + w, horizon), BUILDING, colour, noise=10)
        for wy in range(top + 6, horizon - 8, 14):
            for wx in range(x + 5, x + w - 8, 12):
                img[wy:wy + 6, wx:wx + 5] = _jitter(rng, (40, 50, 60), 10)
        x += w + int(rng.uniform(0, 0.05) * width)
    # vegetation: a few blobs on the horizon
    for _ in range(rng.integers(1, 4)):
        m = np.zeros((height, width), np.uint8)
        cx, cy = int(rng.uniform(0, width)), horizon - int(rng.uniform(0, 0.15) * height)
        cv2.ellipse(m, (cx, cy), (int(rng.uniform(20, 60)), int(rng.uniform(15, 40))), 0, 0,
                    360, 1, -1)
        fill(m, VEGETATION, _jitter(rng, (40, 130, 60), 25), noise=25)
    # ground: sidewalks on both sides of a road narrowing to a vanishing point
    vx = int(width * rng.uniform(0.35, 0.65))
    fill(rect(0, horizon, width, height), SIDEWALK, _jitter(rng, (170, 170, 175), 20), noise=12)
    left, right = int(rng.uniform(-0.2, 0.15) * width), int(rng.uniform(0.85, 1.2) * width)
    fill(poly([(vx - 6, horizon), (vx + 6, horizon), (right, height), (left, height)]), ROAD,
         _jitter(rng, (80, 75, 80), 15), noise=6)
    for t in np.linspace(0.15, 0.95, 5):  # lane marks (road class, painted)
        y = int(horizon + t * (height - horizon))
        xm = int(vx + (((left + right) / 2) - vx) * t)
        img[y:y + max(1, int(4 * t)), xm - int(8 * t):xm + int(8 * t)] = (230, 230, 230)
    # cars on the road
    for _ in range(rng.integers(1, 4)):
        t = rng.uniform(0.2, 0.9)
        y = int(horizon + t * (height - horizon))
        w, h = int(90 * t + 10), int(40 * t + 5)
        xc = int(vx + (rng.uniform(left, right) - vx) * t)
        fill(rect(xc - w // 2, y - h, xc + w // 2, y), CAR, _jitter(rng, (60, 60, 200), 80),
             noise=5)
        img[y - h + 2:y - h // 2, xc - w // 3:xc + w // 3] = _jitter(rng, (200, 160, 120), 15)
    # poles with a traffic sign
    for _ in range(rng.integers(1, 3)):
        px = int(rng.uniform(0.05, 0.95) * width)
        top = int(horizon * rng.uniform(0.3, 0.8))
        bottom = int(horizon + rng.uniform(0.2, 0.6) * (height - horizon))
        fill(rect(px - 2, top, px + 2, bottom), POLE, _jitter(rng, (120, 120, 120), 10), 4)
        m = np.zeros((height, width), np.uint8)
        cv2.circle(m, (px, top), int(rng.uniform(6, 11)), 1, -1)
        fill(m, SIGN, _jitter(rng, (30, 200, 230), 20), noise=4)
    # people on the sidewalks
    for _ in range(rng.integers(1, 4)):
        t = rng.uniform(0.3, 1.0)
        y = int(horizon + t * (height - horizon))
        px = int(rng.choice([rng.uniform(0, 0.2), rng.uniform(0.8, 1.0)]) * width)
        hgt = int(60 * t + 10)
        m = rect(px - hgt // 8, y - hgt, px + hgt // 8, y)
        cv2.circle(m, (px, y - hgt - hgt // 10), max(2, hgt // 9), 1, -1)
        fill(m, PERSON, _jitter(rng, (50, 80, 160), 60), noise=10)
    return img, lab


def make_cityscapes(root, num_train=40, num_val=20, seed=0, height=256, width=512):
    """Write the data set; returns ``root``. Each file is written atomically and the
    completion marker (:func:`litehrnet_mm.fileio.is_complete`) last."""
    import cv2
    mark_incomplete(root)
    for split, num, s in (('train', num_train, seed), ('val', num_val, seed + 1)):
        rng = np.random.default_rng(s)
        img_dir = osp.join(root, 'leftImg8bit', split, 'synth')
        lab_dir = osp.join(root, 'gtFine', split, 'synth')
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(lab_dir, exist_ok=True)
        for i in range(num):
            img, lab = render_scene(rng, height, width)
            stem = f'synth_{s:06d}_{i:06d}'
            write_bytes(osp.join(img_dir, stem + '_leftImg8bit.png'),
                        cv2.imencode('.png', img)[1].tobytes())
            write_bytes(osp.join(lab_dir, stem + '_gtFine_labelTrainIds.png'),
                        cv2.imencode('.png', lab)[1].tobytes())
    mark_complete(root, num_train=num_train, num_val=num_val, seed=seed, height=height,
                  width=width)
    return root


def main(argv=None):
    parser = argparse.ArgumentParser(description='Write the synthetic Cityscapes-format set.')
    parser.add_argument('--out', default='data/synthetic_cityscapes')
    parser.add_argument('--num-train', type=int, default=40)
    parser.add_argument('--num-val', type=int, default=20)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    make_cityscapes(args.out, args.num_train, args.num_val, args.seed)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
