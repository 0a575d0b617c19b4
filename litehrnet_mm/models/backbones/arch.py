"""Named Lite-HRNet variants and validation of the OpenMMLab ``extra`` dict.

Every variant has the stem 32 -> 32 channels (expand ratio 1), three stages of 2, 3 and 4
branches, two blocks per module and fuse layers on (Yu et al., CVPR 2021, Table 1).
"""
import copy
from numbers import Integral, Real

#: arch name -> (modules per stage, block type, branch channels, reduce ratio)
ARCH_SETTINGS = {
    '18':             ((2, 4, 2), 'LITE',  (40, 80, 160, 320), 8),
    '30':             ((3, 8, 3), 'LITE',  (40, 80, 160, 320), 8),
    'naive-18':       ((2, 4, 2), 'NAIVE', (30, 60, 120, 240), 1),
    'wider-naive-18': ((2, 4, 2), 'NAIVE', (40, 80, 160, 320), 1),
}

STAGE_FIELDS = ('num_modules', 'num_branches', 'num_blocks', 'module_type', 'with_fuse',
                'reduce_ratios', 'num_channels')


def arch_to_extra(arch: str, with_head: bool = True) -> dict:
    """The OpenMMLab ``extra`` dict (as in MMPose's configs) of a named variant."""
    if arch not in ARCH_SETTINGS:
        raise ValueError(f'arch {arch!r} is not a Lite-HRNet variant; expected one of '
                         f'{sorted(ARCH_SETTINGS)}, or pass the full `extra` dict instead')
    modules, block, channels, ratio = ARCH_SETTINGS[arch]
    return dict(
        stem=dict(stem_channels=32, out_channels=32, expand_ratio=1),
        num_stages=3,
        stages_spec=dict(
            num_modules=modules,
            num_branches=(2, 3, 4),
            num_blocks=(2, 2, 2),
            module_type=(block, ) * 3,
            with_fuse=(True, True, True),
            reduce_ratios=(ratio, ) * 3,
            num_channels=(channels[:2], channels[:3], channels[:4])),
        with_head=with_head)


def _is_int(v, low=1):
    return isinstance(v, Integral) and not isinstance(v, bool) and v >= low


def _fail(field, expected, got):
    raise ValueError(f'Lite-HRNet extra: `{field}` must be {expected}, got {got!r}')


def validate_extra(extra) -> dict:
    """Check that ``extra`` describes a buildable network; return a normalised deep copy.

    Raises:
        ValueError: naming the first field that is wrong and what was expected.
    """
    if not isinstance(extra, dict):
        _fail('extra', 'a dict with keys stem, num_stages, stages_spec, with_head', extra)
    extra = copy.deepcopy(dict(extra))
    for key in ('stem', 'num_stages', 'stages_spec'):
        if key not in extra:
            _fail(key, 'present', None)
    unknown = set(extra) - {'stem', 'num_stages', 'stages_spec', 'with_head'}
    if unknown:
        _fail('extra', 'free of unknown keys (stem, num_stages, stages_spec, with_head)',
              sorted(unknown))

    stem = extra['stem']
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

    n = extra['num_stages']
    if not _is_int(n):
        _fail('num_stages', 'a positive int', n)
    spec = extra['stages_spec']
    if not isinstance(spec, dict):
        _fail('stages_spec', f'a dict with keys {STAGE_FIELDS}', spec)
    for field in STAGE_FIELDS:
        value = spec.get(field)
        if not isinstance(value, (list, tuple)) or len(value) != n:
            _fail(f'stages_spec.{field}', f'a list of num_stages={n} entries', value)
    spec = {k: list(spec[k]) for k in STAGE_FIELDS}

    prev_branches = 1
    for i in range(n):
        nb = spec['num_branches'][i]
        if not _is_int(nb) or nb < prev_branches:
            _fail(f'stages_spec.num_branches[{i}]',
                  f'an int >= {prev_branches} (branches are only added)', nb)
        prev_branches = nb
        for field in ('num_modules', 'num_blocks', 'reduce_ratios'):
            if not _is_int(spec[field][i]):
                _fail(f'stages_spec.{field}[{i}]', 'a positive int', spec[field][i])
        mt = spec['module_type'][i]
        if not isinstance(mt, str) or mt.upper() not in ('LITE', 'NAIVE'):
            _fail(f'stages_spec.module_type[{i}]', "'LITE' or 'NAIVE'", mt)
        spec['module_type'][i] = mt.upper()
        if not isinstance(spec['with_fuse'][i], bool):
            _fail(f'stages_spec.with_fuse[{i}]', 'True or False', spec['with_fuse'][i])
        chans = spec['num_channels'][i]
        if not isinstance(chans, (list, tuple)) or len(chans) != nb:
            _fail(f'stages_spec.num_channels[{i}]', f'a list of num_branches[{i}]={nb} ints',
                  chans)
        min_c = 8 if mt.upper() == 'LITE' else 2
        for c in chans:
            if not _is_int(c, min_c) or c % 2:
                _fail(f'stages_spec.num_channels[{i}]',
                      f'even ints >= {min_c} (blocks split channels in halves'
                      + (', and the spatial weighting divides a half by 4)'
                         if min_c == 8 else ')'), chans)
        if mt.upper() == 'LITE' and sum(c // 2 for c in chans) < spec['reduce_ratios'][i]:
            _fail(f'stages_spec.reduce_ratios[{i}]',
                  f'at most half the channels of the stage ({sum(c // 2 for c in chans)})',
                  spec['reduce_ratios'][i])
        spec['num_channels'][i] = list(chans)
    extra['stages_spec'] = spec
    wh = extra.get('with_head', False)
    if not isinstance(wh, bool):
        _fail('with_head', 'True or False', wh)
    extra['with_head'] = wh
    return extra
