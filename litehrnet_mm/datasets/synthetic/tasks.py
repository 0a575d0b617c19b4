"""Every synthetic keypoint set by one name: the data set whose layout it copies.

    python -m litehrnet_mm.datasets.synthetic --task wflw --out data/synthetic/wflw
    python -m litehrnet_mm.datasets.synthetic --list
"""
import argparse
import functools
from typing import Callable, Dict

from . import animal, custom, face, hand, pose, wholebody

#: task name -> (family, writer(root, num_train, num_val, seed))
TASKS: Dict[str, tuple] = {
    'coco': ('body', pose.make_coco_keypoints),
    'mpii': ('body', pose.make_mpii),
    'coco_wholebody': ('wholebody', wholebody.make_coco_wholebody),
    'coco_wholebody_hand': ('hand', hand.make_coco_wholebody_hand),
    'onehand10k': ('hand', functools.partial(hand.make_hand, dataset='onehand10k')),
    'rhd': ('hand', functools.partial(hand.make_hand, dataset='rhd')),
    'freihand': ('hand', functools.partial(hand.make_hand, dataset='freihand')),
    'wflw': ('face', functools.partial(face.make_face, scheme='wflw')),
    '300w': ('face', functools.partial(face.make_face, scheme='300w')),
    'cofw': ('face', functools.partial(face.make_face, scheme='cofw')),
    'coco_wholebody_face': ('face', face.make_coco_wholebody_face),
    'ap10k': ('animal', functools.partial(animal.make_animal, dataset='ap10k')),
    'animalpose': ('animal', functools.partial(animal.make_animal, dataset='animalpose')),
    'macaque': ('animal', functools.partial(animal.make_animal, dataset='macaque')),
    'custom': ('custom', custom.make_custom),
}


def writer(task: str) -> Callable[..., str]:
    """The function that writes ``task``'s set: ``writer(task)(root, num_train, num_val,
    seed)``."""
    if task not in TASKS:
        raise ValueError(f'unknown synthetic keypoint set {task!r}; the sets: '
                         f'{", ".join(TASKS)}')
    return TASKS[task][1]


def make(task: str, root: str, num_train: int = 200, num_val: int = 50, seed: int = 0) -> str:
    """Write ``task``'s synthetic set to ``root``; its path."""
    return writer(task)(root, num_train=num_train, num_val=num_val, seed=seed)


def main(argv=None):
    parser = argparse.ArgumentParser(description='Write a synthetic keypoint data set in the '
                                     'layout of the data set it is named after.')
    parser.add_argument('--task', choices=sorted(TASKS))
    parser.add_argument('--out', help='the folder to write (default data/synthetic/TASK)')
    parser.add_argument('--num-train', type=int, default=200)
    parser.add_argument('--num-val', type=int, default=50)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--list', action='store_true', help='list the sets and exit')
    args = parser.parse_args(argv)
    if args.list or not args.task:
        for name, (family, _) in TASKS.items():
            print(f'{name:22s} {family}')
        if not args.list:
            parser.error('--task is required')
        return
    out = args.out or f'data/synthetic/{args.task}'
    make(args.task, out, args.num_train, args.num_val, args.seed)
    print(f'wrote {out}')
