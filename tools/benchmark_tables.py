"""The benchmark's Markdown tables, generated from ``benchmarks/results/results.json`` (what
``benchmarks/benchmark_cpu.py`` writes), so that the docs show the measured figures, not
copies of them.

Sections (``--section NAME``; each is also the name of a block in a Markdown file):

- ``machine``: the CPU, threads and library versions of the runs;
- ``batch1``: Lite-HRNet-18 at 256x192, batch 1, every path, with the ratio to the first row
  (MMPose's eager model), GFLOP/s and the share of the machine's matmul rate;
- ``summary``: the comparisons the docs state in words, computed from the batch-1 and
  batch-8 rows;
- ``batch8``, ``other`` (Lite-HRNet-30, naive-18, 384x288), ``segmentation``, ``training``,
  ``memory``;
- ``readme``: the README's one table (the main batch-1 rows) with a line of context;
- ``engine``: the compiled backend's tables (``--sections engine``): its packages against
  0.2's, RTMPose-t and the users' path through ``init_fast_model``, with its own machine.

A block in a Markdown file is everything between ``<!-- benchmark-tables:NAME:start -->``
and ``<!-- benchmark-tables:NAME:end -->``.

    python tools/benchmark_tables.py [--section NAME ...]       # print
    python tools/benchmark_tables.py --check docs/deploy-and-speed.md   # exit 1 if stale
    python tools/benchmark_tables.py --write docs/deploy-and-speed.md   # regenerate the blocks
    python tools/benchmark_tables.py --check README.md

Reads JSON only (no torch), so it runs in milliseconds.
"""
import argparse
import difflib
import json
import os.path as osp
import re
import sys
import textwrap
from typing import Callable, Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
RESULTS = osp.join(ROOT, 'benchmarks', 'results', 'results.json')

#: the rows of the README's table, in this order (names as in results.json's batch1)
README_ROWS = [
    "MMPose's Lite-HRNet-18, eager",
    'ours, training form, eager',
    'ours, deploy form, eager',
    'ours, torch.compile (freezing, C++ wrapper)',
    'ours, AOTInductor package (batch 1)',
    "MMPose's Lite-HRNet-18, ONNX Runtime",
    "MMPose's Lite-HRNet-18, OpenVINO",
    'ours, ONNX Runtime',
    'ours, OpenVINO form, OpenVINO',
    'ours, OpenVINO form, OpenVINO bf16',
    'RTMPose-t, ONNX Runtime',
    'RTMPose-t, OpenVINO',
    "MMPose's HRNet-W32, eager",
]

BLOCK = re.compile(r'<!-- benchmark-tables:(?P<name>[\w-]+):start -->\n(?P<body>.*?)'
                   r'<!-- benchmark-tables:(?P<end>[\w-]+):end -->', re.S)
MARKER = re.compile(r'<!-- benchmark-tables:([\w-]+):(start|end) -->')


#: generated prose is wrapped at this width (tables are not)
WIDTH = 96


def _wrap(text: str, bullet: bool = False) -> List[str]:
    return textwrap.wrap(text, WIDTH, subsequent_indent='  ' if bullet else '',
                         break_long_words=False, break_on_hyphens=False)


class TablesError(ValueError):
    """results.json lacks what a table needs, or a file's blocks are malformed."""


def load(path: str = RESULTS) -> dict:
    with open(path) as f:
        return json.load(f)


def _row(rows: List[dict], name: str, where: str) -> dict:
    for r in rows:
        if r['name'] == name:
            return r
    raise TablesError(f'{where}: no row named {name!r} in results.json')


def _notes(row: dict) -> str:
    return ', '.join(f'{k} {v:.1f}' if isinstance(v, float) else f'{k} {v}'
                     for k, v in row.items() if k not in ('name', 'ms', 'medians', 'model'))


def _ratio(base_ms: float, ms: float) -> str:
    return f'{base_ms / ms:.2f}x'


def _simple_table(rows: List[dict]) -> List[str]:
    """path | ms | vs the first row | notes."""
    base = rows[0]
    lines = [f"| path | ms | vs {base['name']} | notes |", '| --- | --- | --- | --- |']
    lines += [f"| {r['name']} | {r['ms']:.2f} | {_ratio(base['ms'], r['ms'])} | "
              f"{_notes(r)} |" for r in rows]
    return lines


def machine(d: dict) -> List[str]:
    def describe(m: dict) -> str:
        isa = ', '.join(m.get('isa', [])) or 'none listed'
        return (f"{m['cpu']}, {m['threads']} threads; torch {m['torch']}, ONNX Runtime "
                f"{m['onnxruntime']}, OpenVINO {m['openvino'].split('-')[0]}, Python "
                f"{m['python']}; 2048x2048 fp32 matmul {m['matmul_gflops']:.0f} GFLOP/s; "
                f"vector features (AVX-512 and AMX; AVX and AVX2 in later runs): {isa}")
    lines = _wrap(f"- run with the `main` section (batch 1): {describe(d['machine'])}", True)
    if 'machine_of_update' in d:
        lines += _wrap('- last run without it (`--update`): '
                       f"{describe(d['machine_of_update'])}", True)
    return lines


def batch1(d: dict) -> List[str]:
    rows, flops, peak = d['batch1'], d.get('gflop', {}), d['machine']['matmul_gflops']
    base = rows[0]
    lines = [f"| path | ms | vs {base['name']} | GFLOP/s | share of matmul peak | notes |",
             '| --- | --- | --- | --- | --- | --- |']
    for r in rows:
        f = flops.get(r.get('model', ''))
        rate = f / (r['ms'] * 1e-3) if f else None
        lines.append(f"| {r['name']} | {r['ms']:.2f} | {_ratio(base['ms'], r['ms'])} | "
                     f"{'' if rate is None else f'{rate:.1f}'} | "
                     f"{'' if rate is None else f'{100 * rate / peak:.1f} %'} | "
                     f"{_notes(r)} |")
    return lines


def batch8(d: dict) -> List[str]:
    return _simple_table(d['batch8'])


def other(d: dict) -> List[str]:
    lines: List[str] = []
    for name, rows in d['other'].items():
        if lines:
            lines.append('')
        lines += [f'{name}, batch 1:', ''] + _simple_table(rows)
    return lines


def segmentation(d: dict) -> List[str]:
    return _simple_table(d['segmentation'])


def training(d: dict) -> List[str]:
    lines = ["| variant | MMPose's | ours | ours vs MMPose's |", '| --- | --- | --- | --- |']
    for arch, (theirs, ours) in d['training'].items():
        lines.append(f'| {arch} | {theirs:.0f} | {ours:.0f} | {theirs / ours:.2f}x |')
    return lines


def memory(d: dict) -> List[str]:
    m = d['memory']
    lines = ['| with_cp | peak RSS MiB | step peak above the RSS before it, MiB |',
             '| --- | --- | --- |']
    lines += [f'| {cp} | {total:.0f} | {growth:.0f} |' for cp, (total, growth) in m.items()]
    if 'False' in m and 'True' in m:
        (total0, step0), (total1, step1) = m['False'], m['True']
        lines += [''] + _wrap(f"`with_cp=True` cuts the step's own memory by "
                              f'{100 * (1 - step1 / step0):.0f} % and the process peak by '
                              f'{100 * (1 - total1 / total0):.0f} %.')
    return lines


def summary(d: dict) -> List[str]:
    def ms(name: str, rows: str = 'batch1') -> float:
        return _row(d[rows], name, f'summary ({rows})')['ms']

    mmpose, mmpose_ort = ms("MMPose's Lite-HRNet-18, eager"), \
        ms("MMPose's Lite-HRNet-18, ONNX Runtime")
    deploy, compiled = ms('ours, deploy form, eager'), \
        ms('ours, torch.compile (freezing, C++ wrapper)')
    ours_ort = ms('ours, ONNX Runtime')
    ov_mmpose, ov_mmpose_free = ms("MMPose's Lite-HRNet-18, OpenVINO"), \
        ms("MMPose's Lite-HRNet-18, OpenVINO, free axes")
    ov_ours, ov_ours_free = ms('ours, OpenVINO form, OpenVINO'), \
        ms('ours, OpenVINO form, OpenVINO, free axes')
    bf16 = _row(d['batch1'], 'ours, OpenVINO form, OpenVINO bf16', 'summary')
    dynamic = ms('ours, dynamic-size export, ONNX Runtime')
    eager_onednn = ms('ours, deploy form, eager, oneDNN depthwise')
    compiled_onednn = ms('ours, torch.compile (freezing, C++ wrapper), oneDNN depthwise')
    ours_fp32 = min((r for r in d['batch1'] if r['name'].startswith('ours')
                     and 'bf16' not in r['name']), key=lambda r: r['ms'])
    rtm_t = min((r for r in d['batch1'] if r['name'].startswith('RTMPose-t')),
                key=lambda r: r['ms'])
    b8 = dict(mmpose=ms("MMPose's Lite-HRNet-18, eager", 'batch8'),
              deploy=ms('ours, deploy form, eager', 'batch8'),
              compiled=ms('ours, torch.compile (freezing, C++ wrapper)', 'batch8'),
              mmpose_ort=ms("MMPose's Lite-HRNet-18, ONNX Runtime", 'batch8'))
    items = [
        f'- the eager deploy form is {_ratio(mmpose, deploy)} as fast as MMPose\'s eager model '
        f'({deploy:.2f} against {mmpose:.2f} ms; {_ratio(b8["mmpose"], b8["deploy"])} at '
        'batch 8);',
        f'- the depthwise kernel against oneDNN\'s depthwise convolutions, side by side: eager '
        f'{_ratio(eager_onednn, deploy)} ({deploy:.2f} against {eager_onednn:.2f} ms), '
        f'compiled {_ratio(compiled_onednn, compiled)} ({compiled:.2f} against '
        f'{compiled_onednn:.2f} ms);',
        f'- `torch.compile` of the deploy form is {_ratio(mmpose_ort, compiled)} as fast as ONNX '
        f"Runtime on MMPose's export ({compiled:.2f} against {mmpose_ort:.2f} ms; "
        f'{_ratio(b8["mmpose_ort"], b8["compiled"])} at batch 8);',
        f"- our ONNX export is {_ratio(mmpose_ort, ours_ort)} as fast as MMPose's in ONNX Runtime "
        f'({ours_ort:.2f} against {mmpose_ort:.2f} ms); in OpenVINO, both compiled for the '
        f"input's shape, our OpenVINO form is {_ratio(ov_mmpose, ov_ours)} as fast as MMPose's "
        f'export ({ov_ours:.2f} against {ov_mmpose:.2f} ms; '
        f'{_ratio(ov_mmpose_free, ov_ours_free)} with free axes);',
        f'- compiling OpenVINO for the input\'s shape instead of the file\'s free axes: '
        f"MMPose's export {_ratio(ov_mmpose_free, ov_mmpose)} ({ov_mmpose:.2f} against "
        f'{ov_mmpose_free:.2f} ms), our OpenVINO form {_ratio(ov_ours_free, ov_ours)} '
        f'({ov_ours:.2f} against {ov_ours_free:.2f} ms);',
        f'- a dynamic-size export is {100 * (dynamic / ours_ort - 1):.1f} % slower than a '
        f'fixed-size one in ONNX Runtime ({dynamic:.2f} against {ours_ort:.2f} ms);',
        f"- OpenVINO's bf16 hint: {bf16['ms']:.2f} ms, {_ratio(ov_ours, bf16['ms'])} its fp32 "
        f"time, largest heatmap difference {bf16.get('max_abs_diff', float('nan')):.1f} of "
        f"{bf16.get('max_abs_output', float('nan')):.1f};",
        f"- our fastest fp32 path ({ours_fp32['name']}, {ours_fp32['ms']:.2f} ms) takes "
        f"{ours_fp32['ms'] / rtm_t['ms']:.1f}x the time of RTMPose-t's fastest "
        f"({rtm_t['name']}, {rtm_t['ms']:.2f} ms).",
    ]
    return [line for item in items for line in _wrap(item, True)]


def readme(d: dict) -> List[str]:
    base = d['batch1'][0]
    m = d['machine']
    lines = [f"| path | ms | vs {base['name']} |", '| --- | --- | --- |']
    for name in README_ROWS:
        r = _row(d['batch1'], name, 'readme')
        lines.append(f"| {name} | {r['ms']:.2f} | {_ratio(base['ms'], r['ms'])} |")
    lines += [''] + _wrap('Whole pose model, 256x192, batch 1, fp32 unless the row says bf16; '
                          'best median of three interleaved rounds of 30 runs; '
                          f"{m['cpu']} {_isa_words(m)}, {m['threads']} threads, torch "
                          f"{m['torch'].split('+')[0]}, ONNX Runtime {m['onnxruntime']}, "
                          f"OpenVINO {m['openvino'].split('-')[0]}.")
    return lines


#: the engine section's rows by role (names as benchmarks/benchmark_cpu.py writes them)
ENGINE_PACKAGE = ', AOTInductor package, '
ENGINE_OLD = 'as in 0.2 (blocks unfused, not autotuned)'
ENGINE_NEW = 'blocks fused, autotuned: the compiled backend'
FAST_PREFIX = 'ours, init_fast_model(backend='
#: the bare graph each backend of the users' path runs (backbone, neck and, here, the head)
FAST_BARE = {'compiled': 'ours' + ENGINE_PACKAGE + ENGINE_NEW,
             'onnxruntime': 'ours, ONNX Runtime', 'openvino': 'ours, OpenVINO form, OpenVINO'}


def engine(d: dict) -> List[str]:
    """The engine section: its machine, the batch-1 table, the comparisons the issue set as
    targets, then batch 8 and segmentation (where measured)."""
    e = d.get('engine')
    if not e or 'batch1' not in e:
        raise TablesError('engine: results.json has no engine section (run '
                          'benchmarks/benchmark_cpu.py --sections engine)')
    m = e.get('machine') or d.get('machine_of_update') or d['machine']
    lines = _wrap(f"Measured on {m['cpu']} ({m.get('kernels_isa', 'ISA not recorded')} "
                  f"kernels; features {', '.join(m.get('isa', [])) or 'none listed'}), "
                  f"{m['threads']} threads, torch {m['torch'].split('+')[0]}, ONNX Runtime "
                  f"{m['onnxruntime']}, OpenVINO {m['openvino'].split('-')[0]}.") + ['']
    rows = e['batch1']
    lines += _simple_table(rows) + ['']
    new = _row(rows, 'ours' + ENGINE_PACKAGE + ENGINE_NEW, 'engine')
    old = _row(rows, 'ours' + ENGINE_PACKAGE + ENGINE_OLD, 'engine')
    rtm = min((r for r in rows if r['name'].startswith('RTMPose-t, ')), key=lambda r: r['ms'])
    ort = _row(rows, 'ours, ONNX Runtime', 'engine')
    mm_ort = _row(rows, "MMPose's Lite-HRNet-18, ONNX Runtime", 'engine')
    facts = [
        f"the compiled backend {new['ms']:.2f} ms against RTMPose-t's fastest runtime "
        f"({rtm['name']}) {rtm['ms']:.2f} ms: {rtm['ms'] / new['ms']:.2f}x its speed, "
        f"{new['ms'] / rtm['ms']:.2f}x its time",
        f"against the compiled path of 0.2: {_ratio(old['ms'], new['ms'])}",
        f"our ONNX against MMPose's in ONNX Runtime: {_ratio(mm_ort['ms'], ort['ms'])}",
    ]
    for r in rows:
        if r['name'].startswith(FAST_PREFIX):
            backend = r['name'][len(FAST_PREFIX):].split(')')[0].strip("'")
            bare = FAST_BARE.get(backend)
            if bare and any(r['name'] == bare for r in rows):
                b = _row(rows, bare, 'engine')
                facts.append(f"init_fast_model with {backend!r}: {r['ms']:.2f} ms, "
                             f"{r['ms'] - b['ms']:+.2f} ms beside its bare graph")
    lines += [line for f in facts for line in _wrap(f'- {f}', True)]
    for key, title in (('batch8', 'Batch 8 (ms per batch)'),
                       ('segmentation', 'Segmentation, 512x1024, batch 1')):
        if key in e:
            lines += ['', f'{title}:', ''] + _simple_table(e[key])
            newer = _row(e[key], next(r['name'] for r in e[key] if r['name'].endswith(
                ENGINE_NEW)), 'engine')
            older = _row(e[key], next(r['name'] for r in e[key] if r['name'].endswith(
                ENGINE_OLD)), 'engine')
            lines += [''] + _wrap(f"- the compiled backend against the compiled path of 0.2: "
                                  f"{_ratio(older['ms'], newer['ms'])}", True)
    return lines


def _isa_words(m: dict) -> str:
    isa = m.get('isa', [])
    words = [w for w, p in (('AVX-512', 'avx512'), ('AMX', 'amx')) if any(
        f.startswith(p) for f in isa)]
    return f"({', '.join(words)})" if words else '(no AVX-512)'


SECTIONS: Dict[str, Callable[[dict], List[str]]] = {
    'machine': machine, 'batch1': batch1, 'summary': summary, 'batch8': batch8,
    'other': other, 'segmentation': segmentation, 'training': training, 'memory': memory,
    'readme': readme, 'engine': engine,
}


def render(name: str, data: dict) -> str:
    if name not in SECTIONS:
        raise TablesError(f'unknown section {name!r}; the sections are {sorted(SECTIONS)}')
    try:
        return '\n'.join(SECTIONS[name](data))
    except KeyError as e:
        raise TablesError(f'section {name!r}: results.json has no {e}') from None


def blocks(text: str, where: str = 'the file') -> List[re.Match]:
    """The generated blocks of ``text``; refuses unbalanced or mismatched markers."""
    found = list(BLOCK.finditer(text))
    for m in found:
        if m['name'] != m['end']:
            raise TablesError(f'{where}: block {m["name"]!r} ends with the marker of '
                              f'{m["end"]!r}')
    if len(MARKER.findall(text)) != 2 * len(found):
        raise TablesError(f'{where}: a benchmark-tables marker without its pair')
    if not found:
        raise TablesError(f'{where}: no <!-- benchmark-tables:NAME:start --> block')
    return found


def regenerate(text: str, data: dict, where: str = 'the file') -> str:
    """``text`` with every block's body replaced by its generated section."""
    out, last = [], 0
    for m in blocks(text, where):
        out += [text[last:m.start('body')], '\n', render(m['name'], data), '\n\n']
        last = m.end('body')
    out.append(text[last:])
    return ''.join(out)


def check(path: str, data: dict) -> List[str]:
    """The differences between ``path``'s blocks and what they would be now (empty if none)."""
    with open(path) as f:
        text = f.read()
    fresh = regenerate(text, data, path)
    if fresh == text:
        return []
    return list(difflib.unified_diff(text.splitlines(), fresh.splitlines(), path,
                                     f'{path} (generated)', lineterm='', n=1))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--results', default=RESULTS, help='results.json to read')
    parser.add_argument('--section', nargs='+', choices=sorted(SECTIONS),
                        help='print these sections (default: all but readme)')
    what = parser.add_mutually_exclusive_group()
    what.add_argument('--check', metavar='FILE',
                      help="exit 1 if FILE's blocks differ from what they would be now")
    what.add_argument('--write', metavar='FILE', help="regenerate FILE's blocks in place")
    args = parser.parse_args(argv)
    try:
        data = load(args.results)
        if args.check:
            diff = check(args.check, data)
            if diff:
                print('\n'.join(diff))
                print(f'\n{args.check}: the benchmark tables differ from {args.results}; '
                      f'run: python tools/benchmark_tables.py --write {args.check}',
                      file=sys.stderr)
                return 1
            print(f'{args.check}: benchmark tables up to date')
            return 0
        if args.write:
            with open(args.write) as f:
                text = f.read()
            fresh = regenerate(text, data, args.write)
            if fresh != text:
                with open(args.write, 'w') as f:
                    f.write(fresh)
            print(f'{args.write}: {len(blocks(fresh))} blocks '
                  f'{"rewritten" if fresh != text else "already up to date"}')
            return 0
        for name in args.section or [s for s in SECTIONS if s != 'readme']:
            print(f'<!-- {name} -->\n{render(name, data)}\n')
        return 0
    except (TablesError, OSError, json.JSONDecodeError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
