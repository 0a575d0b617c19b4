"""Build a Lite-HRNet pose model from one of our configs and run it on an image.

Uses MMPose's own API (``init_model``, ``inference_topdown``) and visualizer. Without a
checkpoint the model has its initial weights, so the keypoints are not meaningful: this shows
the install and the plumbing work. Pass ``--checkpoint`` for a trained model; it loads strictly
(a checkpoint that does not fit the config is an error naming the first differing keys).

    python tools/demo_pose.py [--config CFG] [--checkpoint PTH] [--image IMG] [--out OUT.jpg]
"""
import argparse
import os.path as osp
import sys

import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
DEFAULT_CONFIG = osp.join(HERE, '..', 'configs', 'body_2d_keypoint', 'topdown_heatmap', 'coco',
                          'td-hm_litehrnet-18_8xb64-210e_coco-256x192.py')


def synthetic_person(h=256, w=192):
    """A plain image with a stick figure, for a demo that needs no download."""
    import cv2
    img = np.full((h, w, 3), 200, np.uint8)
    cx = w // 2
    cv2.circle(img, (cx, 40), 18, (60, 60, 160), -1)
    for a, b in [((cx, 58), (cx, 150)), ((cx, 80), (cx - 45, 120)), ((cx, 80), (cx + 45, 120)),
                 ((cx, 150), (cx - 30, 235)), ((cx, 150), (cx + 30, 235))]:
        cv2.line(img, a, b, (40, 40, 40), 8)
    return img


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--checkpoint', default=None)
    parser.add_argument('--image', default=None, help='image file (default: a synthetic one)')
    parser.add_argument('--out', default='work_dirs/demo_pose.jpg', help='visualization file')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--kpt-thr', type=float, default=0.3,
                        help='draw keypoints whose score is above this')
    args = parser.parse_args(argv)

    import mmcv
    from mmpose.apis import inference_topdown
    from mmpose.registry import VISUALIZERS

    from litehrnet_mm.builder import build_model
    if not osp.isfile(args.config):
        sys.exit(f'config not found: {args.config}')
    model = build_model(args.config, args.checkpoint, device=args.device)  # strict
    print(f'model: {type(model).__name__} with backbone '
          f'{type(model.backbone).__module__}.{type(model.backbone).__name__}, '
          f'{sum(p.numel() for p in model.parameters()):,} parameters')

    if args.image is None:
        img = synthetic_person()
    else:
        if not osp.isfile(args.image):
            sys.exit(f'image not found: {args.image}')
        img = mmcv.imread(args.image)
    results = inference_topdown(model, img)  # whole image as the person box
    kpts = results[0].pred_instances.keypoints
    scores = results[0].pred_instances.keypoint_scores
    print(f'keypoints: {kpts.shape} (instances, joints, xy); mean score {scores.mean():.4f}')

    visualizer = VISUALIZERS.build(model.cfg.visualizer)
    visualizer.set_dataset_meta(model.dataset_meta)
    visualizer.add_datasample('result', mmcv.bgr2rgb(img), data_sample=results[0],
                              draw_gt=False, draw_bbox=True, show=False, kpt_thr=args.kpt_thr,
                              out_file=args.out)
    print(f'visualization: {args.out}')
    return results


if __name__ == '__main__':
    main()
