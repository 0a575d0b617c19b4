"""Named Lite-HRNet variants, and the typed description of a network parsed from MMPose's
``extra`` dict.

Every published variant has the stem 32 -> 32 channels (expand ratio 1), three stages of 2, 3
and 4 branches, two blocks per module and fuse layers on (Yu et al., CVPR 2021, Table 1). The
``extra`` dict of MMPose's configs stays the configuration format (its keys, such as
``reduce_ratios``, are MMPose's); :func:`validate_extra` turns it into a :class:`NetworkSpec`
once, and the backbone is built from that.
"""
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Dict, Tuple

from ..blocks.hr_module import BLOCK_TYPES


@dataclass(frozen=True)
class ArchSetting:
    """One row of the variants table."""
    modules_per_stage: Tuple[int, int, int]
    block: str                       # a key of BLOCK_TYPES: 'LITE' or 'NAIVE'
    channels: Tuple[int, int, int, int]  # branch widths, highest resolution first
    reduce_ratio: int                # of the cross-resolution weighting (unused by NAIVE)


ARCH_SETTINGS: Dict[str, ArchSetting] = {
    '18': ArchSetting((2, 4, 2), 'LITE', (40, 80, 160, 320), 8),
    '30': ArchSetting((3, 8, 3), 'LITE', (40, 80, 160, 320), 8),
    'naive-18': ArchSetting((2, 4, 2), 'NAIVE', (30, 60, 120, 240), 1),
    'wider-naive-18': ArchSetting((2, 4, 2), 'NAIVE', (40, 80, 160, 320), 1),
}


def min_input_size(num_branches: int) -> int:
    """Smallest input height and width: branch i has stride 2^(i+2), and the lowest branch
    must keep at least one pixel."""
    return 2**(num_branches + 1)


#: Smallest input size of the published variants (4 branches, stride 32).
MIN_INPUT_SIZE = min_input_size(4)

#: The per-stage lists of ``extra['stages_spec']``, in MMPose's names.
STAGE_FIELDS = ('num_modules', 'num_branches', 'num_blocks', 'module_type', 'with_fuse',
                'reduce_ratios', 'num_channels')


@dataclass(frozen=True)
class StemSpec:
    stem_channels: int
    out_channels: int
    expand_ratio: float


@dataclass(frozen=True)
class StageSpec:
    num_modules: int
    num_blocks: int
    block: str                  # 'LITE' or 'NAIVE'
    with_fuse: bool
    reduce_ratio: int
    channels: Tuple[int, ...]   # one width per branch

    @property
    def num_branches(self) -> int:
        return len(self.channels)


@dataclass(frozen=True)
class NetworkSpec:
    """What ``extra`` describes: the stem, one spec per stage, the IterativeHead or not."""
    stem: StemSpec
    stages: Tuple[StageSpec, ...]
    with_head: bool

    def to_extra(self) -> dict:
        """Back to MMPose's ``extra`` dict."""
        stages = self.stages
        return dict(
            stem=dict(stem_channels=self.stem.stem_channels,
                      out_channels=self.stem.out_channels,
                      expand_ratio=self.stem.expand_ratio),
            num_stages=len(stages),
            stages_spec=dict(
                num_modules=tuple(s.num_modules for s in stages),
                num_branches=tuple(s.num_branches for s in stages),
                num_blocks=tuple(s.num_blocks for s in stages),
                module_type=tuple(s.block for s in stages),
                with_fuse=tuple(s.with_fuse for s in stages),
                reduce_ratios=tuple(s.reduce_ratio for s in stages),
                num_channels=tuple(tuple(s.channels) for s in stages)),
            with_head=self.with_head)


def arch_to_extra(arch: str, with_head: bool = True) -> dict:
    """The OpenMMLab ``extra`` dict (as in MMPose's configs) of a named variant."""
    if arch not in ARCH_SETTINGS:
        raise ValueError(f'arch {arch!r} is not a Lite-HRNet variant; expected one of '
                         f'{sorted(ARCH_SETTINGS)}, or pass the full `extra` dict instead')
    setting = ARCH_SETTINGS[arch]
    channels = setting.channels
    return dict(
        stem=dict(stem_channels=32, out_channels=32, expand_ratio=1),
        num_stages=3,
        stages_spec=dict(
            num_modules=setting.modules_per_stage,
            num_branches=(2, 3, 4),
            num_blocks=(2, 2, 2),
            module_type=(setting.block, ) * 3,
            with_fuse=(True, True, True),
            reduce_ratios=(setting.reduce_ratio, ) * 3,
            num_channels=(channels[:2], channels[:3], channels[:4])),
        with_head=with_head)


def _is_int(v: Any, low: int = 1) -> bool:
    return isinstance(v, Integral) and not isinstance(v, bool) and v >= low


def _fail(field: str, expected: str, got: Any):
    raise ValueError(f'Lite-HRNet extra: `{field}` must be {expected}, got {got!r}')


def _parse_stem(stem: Any) -> StemSpec:
    if not isinstance(stem, dict):
        _fail('stem', 'a dict(stem_channels, out_channels, expand_ratio)', stem)
    sc, oc = stem.get('stem_channels'), stem.get('out_channels')
    if not _is_int(sc, 2) or sc % 2:
        _fail('stem.stem_channels', 'an even positive int', sc)
    if not _is_int(oc) or (oc != sc and oc <= sc):
        _fail('stem.out_channels', f'equal to stem_channels ({sc}) or larger', oc)
    er = stem.get('expand_ratio')
    if not isinstance(er, Real) or isinstance(er, bool) or er <= 0 \
            or int(round(sc * er)) < 1:
        _fail('stem.expand_ratio', 'a positive number', er)
    return StemSpec(int(sc), int(oc), er)


def _stage_lists(spec: Any, num_stages: Any) -> dict:
    if not _is_int(num_stages):
        _fail('num_stages', 'a positive int', num_stages)
    if not isinstance(spec, dict):
        _fail('stages_spec', f'a dict with keys {STAGE_FIELDS}', spec)
    for field in STAGE_FIELDS:
        value = spec.get(field)
        if not isinstance(value, (list, tuple)) or len(value) != num_stages:
            _fail(f'stages_spec.{field}', f'a list of num_stages={num_stages} entries', value)
    return {k: list(spec[k]) for k in STAGE_FIELDS}


def _parse_stage(lists: dict, i: int, min_branches: int) -> StageSpec:
    nb = lists['num_branches'][i]
    if not _is_int(nb) or nb < min_branches:
        _fail(f'stages_spec.num_branches[{i}]',
              f'an int >= {min_branches} (branches are only added)', nb)
    for field in ('num_modules', 'num_blocks', 'reduce_ratios'):
        if not _is_int(lists[field][i]):
            _fail(f'stages_spec.{field}[{i}]', 'a positive int', lists[field][i])
    block = lists['module_type'][i]
    if not isinstance(block, str) or block.upper() not in BLOCK_TYPES:
        _fail(f'stages_spec.module_type[{i}]', ' or '.join(map(repr, BLOCK_TYPES)), block)
    block = block.upper()
    with_fuse = lists['with_fuse'][i]
    if not isinstance(with_fuse, bool):
        _fail(f'stages_spec.with_fuse[{i}]', 'True or False', with_fuse)
    channels = lists['num_channels'][i]
    if not isinstance(channels, (list, tuple)) or len(channels) != nb:
        _fail(f'stages_spec.num_channels[{i}]', f'a list of num_branches[{i}]={nb} ints',
              channels)
    # The block classes state their own limits, so that the two cannot drift apart.
    block_cls = BLOCK_TYPES[block]
    min_c = block_cls.min_channels
    if any(not _is_int(c, min_c) or c % 2 for c in channels):
        _fail(f'stages_spec.num_channels[{i}]',
              f'even ints >= {min_c} ({block_cls.channels_rule})', channels)
    reduce_ratio = lists['reduce_ratios'][i]
    max_ratio = block_cls.max_reduce_ratio(channels)
    if reduce_ratio > max_ratio:
        _fail(f'stages_spec.reduce_ratios[{i}]',
              f'at most half the channels of the stage ({max_ratio})', reduce_ratio)
    return StageSpec(num_modules=int(lists['num_modules'][i]),
                     num_blocks=int(lists['num_blocks'][i]), block=block,
                     with_fuse=with_fuse, reduce_ratio=int(reduce_ratio),
                     channels=tuple(int(c) for c in channels))


def validate_extra(extra: Any) -> NetworkSpec:
    """Parse MMPose's ``extra`` dict into a :class:`NetworkSpec`.

    Raises:
        ValueError: naming the first field that is wrong and what was expected.
    """
    if not isinstance(extra, dict):
        _fail('extra', 'a dict with keys stem, num_stages, stages_spec, with_head', extra)
    for key in ('stem', 'num_stages', 'stages_spec'):
        if key not in extra:
            _fail(key, 'present', None)
    unknown = set(extra) - {'stem', 'num_stages', 'stages_spec', 'with_head'}
    if unknown:
        _fail('extra', 'free of unknown keys (stem, num_stages, stages_spec, with_head)',
              sorted(unknown))
    stem = _parse_stem(extra['stem'])
    lists = _stage_lists(extra['stages_spec'], extra['num_stages'])
    stages = []
    for i in range(extra['num_stages']):
        stages.append(_parse_stage(lists, i, stages[-1].num_branches if stages else 1))
    with_head = extra.get('with_head', False)
    if not isinstance(with_head, bool):
        _fail('with_head', 'True or False', with_head)
    return NetworkSpec(stem, tuple(stages), with_head)
