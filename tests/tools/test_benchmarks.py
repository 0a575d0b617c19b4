"""The benchmark scripts import (they share litehrnet_mm.benchmarking, without sys.path edits)
and the shared timing keeps its contract: every path timed once per round, best median."""
import ast
import glob
import importlib.util
import os.path as osp

import pytest
import torch

from litehrnet_mm.benchmarking import Path, check_equal, time_paths

SCRIPTS = sorted(glob.glob(osp.join(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))), 'benchmarks', '*.py')))


@pytest.mark.parametrize('script', SCRIPTS, ids=osp.basename)
def test_benchmark_script_imports_without_touching_sys_path(script):
    tree = ast.parse(open(script).read())
    edits = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Attribute)
             and node.attr in ('insert', 'append') and ast.unparse(node.value) == 'sys.path']
    assert edits == [], f'{osp.basename(script)} edits sys.path at lines {edits}'
    spec = importlib.util.spec_from_file_location(osp.basename(script)[:-3], script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # imports only: main() is not run
    assert callable(getattr(module, 'main', None))


def test_paths_are_timed_in_interleaved_rounds_best_median_kept():
    order = []
    paths = [Path(name, lambda name=name: order.append(name)) for name in ('a', 'b')]
    time_paths(paths, rounds=3, reps=2)
    # per round: path a (3 warm-up calls, 2 timed), then path b
    assert order == (['a'] * 5 + ['b'] * 5) * 3
    for p in paths:
        assert len(p.medians) == 3 and p.ms == min(p.medians) >= 0


def test_outputs_are_checked_relative_to_their_scale():
    x = torch.randn(8) * 100
    assert check_equal(lambda: x, lambda: x + 1e-3, 'close') < 1e-4
    with pytest.raises(AssertionError, match='far: outputs differ by'):
        check_equal(lambda: x, lambda: x + 1.0, 'far')


def _subprocess_calls_without_timeout(path):
    """Lines of ``subprocess`` calls in ``path`` that could wait forever: ``run``, ``call``,
    ``check_call``, ``check_output`` without ``timeout=``, and any ``Popen``."""
    tree = ast.parse(open(path).read())
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and ast.unparse(node.func.value) == 'subprocess':
            name = node.func.attr
            if name == 'Popen' or (name in ('run', 'call', 'check_call', 'check_output')
                                   and 'timeout' not in {k.arg for k in node.keywords}):
                lines.append(node.lineno)
    return lines


def test_every_subprocess_of_the_tools_and_benchmarks_has_a_timeout():
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    files = [f for folder in ('tools', 'benchmarks', 'litehrnet_mm')
             for f in glob.glob(osp.join(root, folder, '**', '*.py'), recursive=True)]
    waiting = {osp.relpath(f, root): lines for f in files
               if (lines := _subprocess_calls_without_timeout(f))}
    assert waiting == {}


def test_the_timeout_check_sees_a_call_without_one(tmp_path):
    script = tmp_path / 'x.py'
    script.write_text('import subprocess\nsubprocess.run(["true"], timeout=5)\n'
                      'subprocess.run(["true"])\nsubprocess.Popen(["true"])\n')
    assert _subprocess_calls_without_timeout(str(script)) == [3, 4]
