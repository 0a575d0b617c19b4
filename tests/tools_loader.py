"""Import a script of tools/ as a module (the tools are scripts, not a package)."""
import importlib.util
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, 'tools', name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MIM = osp.join(osp.dirname(sys.executable), 'mim')


def run_mim(*args, check=True):
    """Run ``mim`` of this environment from the repository root; fail with its output."""
    proc = subprocess.run([MIM, *args], capture_output=True, text=True, cwd=ROOT)
    if check and proc.returncode != 0:
        raise AssertionError(f'mim {" ".join(args)} failed:\n{proc.stdout[-3000:]}\n'
                             f'{proc.stderr[-3000:]}')
    return proc
