"""The README and the pages under docs/: every repository path a command block names exists,
every relative link resolves (anchors included), the README stays a front page of at most 300
lines that links every page, its Quick start holds the two commands CI runs, and the generated
benchmark tables match benchmarks/results/results.json (tools/benchmark_tables.py --check).

Standard library and pytest only; each checker has a control test that shows it catches a
bad case."""
import json
import os
import os.path as osp
import re
import subprocess
import sys
from typing import Dict, List, Tuple

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
README = osp.join(ROOT, 'README.md')
DOCS = osp.join(ROOT, 'docs')
TABLES = osp.join(ROOT, 'tools', 'benchmark_tables.py')
MAX_README_LINES = 300
#: the README's Quick start commands, which .ci/run runs
QUICK_START = ['bash tools/install.sh && .venv/bin/python tools/train_pose_demo.py',
               'bash tools/test.sh']

#: the languages of fenced blocks that hold shell commands ('' is a bare ``` block)
COMMAND_LANGUAGES = {'', 'bash', 'sh', 'shell', 'console'}
#: a token starting with one of these names a file or folder of the repository
REPO_PREFIXES = ('tools/', 'configs/', 'benchmarks/', 'requirements/', 'docs/', '.ci/',
                 'litehrnet_mm/', 'tests/')
#: options and redirections whose value a command writes (an output, not an input)
OUTPUT_OPTIONS = {'--out', '--out-dir', '--output', '--work-dir', '--cache-dir', '--save-dir',
                  '-o', '>', '>>'}
#: folders of generated data and runs, never in the repository
GENERATED = ('work_dirs/', 'data/')

FENCE = re.compile(r'^ {0,3}(```+|~~~+)\s*([\w+-]*)[^\n]*$')
LINK = re.compile(r'!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
REFERENCE = re.compile(r'^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$', re.M)
HEADING = re.compile(r'^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$')
SCHEME = re.compile(r'^[a-zA-Z][a-zA-Z0-9+.-]*:')


def doc_files() -> List[str]:
    pages = sorted(osp.join(DOCS, n) for n in os.listdir(DOCS) if n.endswith('.md'))
    return [README] + pages


def rel(path: str) -> str:
    return osp.relpath(path, ROOT)


def split_fences(text: str) -> Tuple[List[Tuple[str, str]], str]:
    """The fenced blocks of a Markdown text as (language, body), and the text outside them
    (fenced lines replaced by blank lines, so that line numbers stay)."""
    blocks, outside, fence, lang, body = [], [], None, '', []
    for line in text.splitlines():
        m = FENCE.match(line)
        if fence is None and m:
            fence, lang, body = m.group(1), m.group(2).lower(), []
            outside.append('')
        elif fence is not None and line.strip().startswith(fence[0] * len(fence)) \
                and not line.strip().strip(fence[0]):
            blocks.append((lang, '\n'.join(body)))
            fence = None
            outside.append('')
        elif fence is not None:
            body.append(line)
            outside.append('')
        else:
            outside.append(line)
    if fence is not None:
        raise ValueError('a fenced block is not closed')
    return blocks, '\n'.join(outside)


def command_lines(block: str) -> List[str]:
    """The block's commands: comments removed, backslash continuations joined."""
    lines, pending = [], ''
    for raw in block.splitlines():
        line = re.sub(r'(^|\s)#.*$', '', raw).rstrip()  # a comment starts a word with '#'
        if line.endswith('\\'):
            pending += line[:-1] + ' '
            continue
        lines.append(pending + line)
        pending = ''
    if pending:
        lines.append(pending)
    return [line for line in lines if line.strip()]


def _clean(token: str) -> str:
    token = token.strip('\'"`')
    token = token.lstrip('[(').rstrip('])')
    token = token.rstrip(',;:')
    return token[2:] if token.startswith('./') else token


def command_paths(block: str) -> List[str]:
    """The repository paths a command block reads: tokens that start with a repository
    folder (``tools/``, ``configs/``, ...), also as ``NAME=value`` or ``--option=value``;
    not the values of output options (``--out``, ``--out-dir``, ``--work-dir``, ...), not
    paths under ``work_dirs/`` or ``data/``, not templates (``$``, ``*``, ``{...}``,
    ``<...>``, ``...``)."""
    found = []
    for line in command_lines(block):
        previous = ''
        for word in line.split():
            option, value = '', word
            if '=' in word and not word.startswith(('"', "'")):
                option, value = word.split('=', 1)
            token = _clean(value)
            is_output = previous in OUTPUT_OPTIONS or option in OUTPUT_OPTIONS
            previous = word
            if is_output or not token.startswith(REPO_PREFIXES) or token.startswith(GENERATED):
                continue
            if any(c in token for c in '$*{}<>?') or '...' in token:
                continue
            found.append(token.rstrip('/') if token not in REPO_PREFIXES else token)
    return found


def missing_command_paths(text: str) -> List[str]:
    blocks, _ = split_fences(text)
    paths = [p for lang, body in blocks if lang in COMMAND_LANGUAGES
             for p in command_paths(body)]
    return sorted({p for p in paths if not osp.exists(osp.join(ROOT, p))})


def all_command_paths(text: str) -> List[str]:
    blocks, _ = split_fences(text)
    return [p for lang, body in blocks if lang in COMMAND_LANGUAGES
            for p in command_paths(body)]


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', heading)  # a link's text only
    text = re.sub(r'[^\w\- ]', '', text.strip().lower())
    return text.replace(' ', '-')


def anchors(text: str) -> set:
    _, outside = split_fences(text)
    seen: Dict[str, int] = {}
    result = set()
    for line in outside.splitlines():
        m = HEADING.match(line)
        if not m:
            continue
        base = slug(m.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        result.add(base if n == 0 else f'{base}-{n}')
    return result


def links(text: str) -> List[str]:
    """The link targets of the text outside fenced blocks and inline code."""
    _, outside = split_fences(text)
    outside = re.sub(r'(`+)(?:(?!\1).)+?\1', '', outside, flags=re.S)
    return LINK.findall(outside) + REFERENCE.findall(outside)


def broken_links(path: str, text: str) -> List[str]:
    """The relative links of ``text`` (the file at ``path``) whose file, or whose anchor in a
    Markdown file, does not exist."""
    broken = []
    for target in links(text):
        if SCHEME.match(target):
            continue  # http(s), mailto, ...
        file_part, _, anchor = target.partition('#')
        dest = osp.normpath(osp.join(osp.dirname(path), file_part)) if file_part else path
        if not osp.exists(dest):
            broken.append(f'{target} (no file {rel(dest)})')
            continue
        if anchor and dest.endswith('.md'):
            with open(dest) as f:
                if anchor not in anchors(f.read()):
                    broken.append(f'{target} (no heading #{anchor} in {rel(dest)})')
    return broken


def read(path: str) -> str:
    with open(path) as f:
        return f.read()


# --- the repository's documents -----------------------------------------------------------

@pytest.mark.parametrize('path', doc_files(), ids=rel)
def test_command_block_paths_exist(path):
    missing = missing_command_paths(read(path))
    assert not missing, f'{rel(path)}: command blocks name paths that do not exist: {missing}'


def test_the_readme_command_blocks_are_seen():
    # the extractor finds what the README's commands read, so the test above is not vacuous
    found = set(all_command_paths(read(README)))
    assert {'tools/install.sh', 'tools/train_pose_demo.py', 'tools/test.sh'} <= found, found


@pytest.mark.parametrize('path', doc_files(), ids=rel)
def test_relative_links_resolve(path):
    broken = broken_links(path, read(path))
    assert not broken, f'{rel(path)}: broken links: {broken}'


def test_readme_is_a_front_page():
    lines = read(README).splitlines()
    assert len(lines) <= MAX_README_LINES, \
        f'README.md has {len(lines)} lines; at most {MAX_README_LINES}: move details to docs/'


def test_readme_links_every_page():
    targets = {osp.normpath(osp.join(ROOT, t.partition('#')[0]))
               for t in links(read(README)) if not SCHEME.match(t)}
    unlinked = [rel(p) for p in doc_files()[1:] if p not in targets]
    assert not unlinked, f'pages the README does not link: {unlinked}'


def test_quick_start_holds_the_ci_commands():
    blocks, _ = split_fences(read(README))
    commands = {line.strip() for lang, body in blocks if lang in COMMAND_LANGUAGES
                for line in command_lines(body)}
    for command in QUICK_START:
        assert command in commands, f'README.md lost the Quick start command {command!r}'
    ci = [line.strip() for line in command_lines(read(osp.join(ROOT, '.ci', 'run')))]
    for command in QUICK_START:
        assert any(line.startswith(command) for line in ci), \
            f'.ci/run does not run the README command {command!r}'


def run_tables(*args, timeout=60):
    return subprocess.run([sys.executable, TABLES, *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


@pytest.mark.parametrize('page', ['docs/deploy-and-speed.md', 'README.md'])
def test_benchmark_tables_are_generated(page):
    proc = run_tables('--check', osp.join(ROOT, page))
    assert proc.returncode == 0, f'{page}: {proc.stdout[-3000:]}{proc.stderr[-2000:]}'


# --- controls: each checker catches a bad case -----------------------------------------------

def test_control_command_paths():
    text = '\n'.join([
        'Some prose naming tools/not_checked.py, outside a block.',
        '```bash',
        'CFG=configs/examples/mmpose-litehrnet-18_custom-imports_coco-256x192.py',
        '.venv/bin/python tools/infer.py $CFG configs/no/such_config.py \\',
        '    --checkpoint work_dirs/x/epoch_1.pth --out-dir tools/generated_output',
        '.venv/bin/python tools/export_onnx.py CFG --out=tools/model.onnx  # tools/in_comment.py',
        'cat "requirements/missing.txt" > tools/written.txt',
        '```',
        '```python',
        "open('tools/in_python_block.py')",
        '```',
    ])
    found = all_command_paths(text)
    assert found == ['configs/examples/mmpose-litehrnet-18_custom-imports_coco-256x192.py',
                     'tools/infer.py', 'configs/no/such_config.py', 'tools/export_onnx.py',
                     'requirements/missing.txt'], found
    assert missing_command_paths(text) == ['configs/no/such_config.py',
                                           'requirements/missing.txt']


def test_control_links(tmp_path):
    page = tmp_path / 'page.md'
    text = '\n'.join([
        '# A page',
        '## Second heading: with `code`',
        '[ok](page.md) [ok anchor](#a-page) [ok other](page.md#second-heading-with-code)',
        '[web](https://example.com/missing.md) ![missing image](images/none.png)',
        '[bad anchor](#no-such-heading) [missing](other.md)',
        '`[not a link](inside_code.md)`',
        '```bash',
        '# [in a block](block.md)',
        '```',
    ])
    page.write_text(text)
    broken = broken_links(str(page), text)
    assert [b.split(' ')[0] for b in broken] == ['images/none.png', '#no-such-heading',
                                                 'other.md'], broken


def test_control_slug():
    assert slug("MMPose's tools") == 'mmposes-tools'
    assert slug('int8: measured, not shipped') == 'int8-measured-not-shipped'
    assert slug('Install time (measured)') == 'install-time-measured'
    assert anchors('# A\n## A\n```\n# not a heading\n```\n') == {'a', 'a-1'}


def test_control_benchmark_tables_catch_a_stale_table(tmp_path):
    page = tmp_path / 'page.md'
    fresh = '\n'.join(['Before.', '<!-- benchmark-tables:training:start -->', '',
                       '<!-- benchmark-tables:training:end -->', 'After.', ''])
    page.write_text(fresh)
    assert run_tables('--write', str(page)).returncode == 0
    written = page.read_text()
    assert '| variant |' in written and written.endswith('After.\n')
    assert run_tables('--check', str(page)).returncode == 0
    page.write_text(re.sub(r'\| [\d.]+x \|', '| 999.99x |', written, count=1))
    proc = run_tables('--check', str(page))
    assert proc.returncode == 1 and '999.99x' in proc.stdout, proc.stdout + proc.stderr
    page.write_text('no blocks here\n')
    assert run_tables('--check', str(page)).returncode == 2


def test_control_benchmark_tables_follow_the_results(tmp_path):
    results = json.loads(read(osp.join(ROOT, 'benchmarks', 'results', 'results.json')))
    results['batch1'][0]['ms'] *= 2  # a new measurement of the reference row
    changed = tmp_path / 'results.json'
    changed.write_text(json.dumps(results))
    proc = run_tables('--results', str(changed), '--check', README)
    assert proc.returncode == 1, proc.stdout + proc.stderr


def test_benchmark_tables_read_json_only():
    # the script must not import torch (it runs in milliseconds, anywhere)
    code = ('import runpy, sys\n'
            f'sys.argv = [{TABLES!r}, "--section", "readme"]\n'
            'try:\n'
            f'    runpy.run_path({TABLES!r}, run_name="__main__")\n'
            'except SystemExit:\n'
            '    pass\n'
            'print("TORCH" if "torch" in sys.modules else "NO-TORCH")\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.stdout.strip().endswith('NO-TORCH'), proc.stdout + proc.stderr
