"""Import hygiene of the package.

* Importing mmloc, every one of its modules, changes nothing in mmengine (its checkpoint
  loaders, its file backends), in matplotlib (its backend) or in the environment: that
  happens only in :func:`mmloc.engine.setup_runtime`, which the tools call when they start.
* The top-level subpackages import each other without cycles at module level, and
  ``mmloc.models`` imports neither ``mmloc.datasets`` nor ``mmloc.engine`` (not even inside
  a function): data and training code depend on the models, not the other way round.
"""
import ast
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / 'mmloc'

FRESH_PROCESS = r'''
import importlib, json, os, pkgutil, sys
import matplotlib
import mmengine.fileio.backends.registry_utils as fileio_registry
from mmengine.runner.checkpoint import CheckpointLoader


def snapshot():
    return dict(
        schemes={k: f'{v.__module__}.{v.__qualname__}' for k, v in CheckpointLoader._schemes.items()},
        backends={k: f'{v.__module__}.{v.__qualname__}' for k, v in fileio_registry.backends.items()},
        prefixes={k: f'{v.__module__}.{v.__qualname__}'
                  for k, v in fileio_registry.prefix_to_backends.items()},
        mpl_backend=str(dict.__getitem__(matplotlib.rcParams, 'backend')),
        pyplot='matplotlib.pyplot' in sys.modules,
        environ=sorted(os.environ))


before = snapshot()
import mmloc
names = sorted(m.name for m in pkgutil.walk_packages(mmloc.__path__, 'mmloc.'))
for name in names:
    importlib.import_module(name)
after_import = snapshot()
from mmloc.utils import register_all_modules
register_all_modules()
after_register = snapshot()
from mmloc.engine import setup_runtime
setup_runtime()
setup_runtime()  # idempotent
after_setup = snapshot()
print(json.dumps(dict(modules=names, before=before, after_import=after_import,
                      after_register=after_register, after_setup=after_setup)))
'''


def test_importing_mmloc_leaves_mmengine_alone_until_setup_runtime():
    proc = subprocess.run([sys.executable, '-c', FRESH_PROCESS], cwd=REPO, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    before = out['before']
    assert len(out['modules']) > 50 and 'mmloc.engine.runtime' in out['modules']
    assert out['after_import'] == before
    assert out['after_register'] == before
    assert not any('WEIGHTS_ONLY' in var for var in out['after_setup']['environ'])

    after = out['after_setup']
    assert after['schemes'][''] == 'mmloc.engine.checkpoint.load_from_local'
    assert after['prefixes'][''] == 'mmloc.engine.fileio.AtomicLocalBackend'
    assert after['backends']['local'] == 'mmloc.engine.fileio.AtomicLocalBackend'
    assert before['schemes'][''] != after['schemes']['']
    assert before['prefixes'][''] != after['prefixes']['']
    # nothing else of mmengine's changed
    assert {k: v for k, v in after['schemes'].items() if k != ''} == \
        {k: v for k, v in before['schemes'].items() if k != ''}
    assert {k: v for k, v in after['prefixes'].items() if k != ''} == \
        {k: v for k, v in before['prefixes'].items() if k != ''}
    assert {k: v for k, v in after['backends'].items() if k != 'local'} == \
        {k: v for k, v in before['backends'].items() if k != 'local'}
    assert after['mpl_backend'] == before['mpl_backend'] and not after['pyplot']


# ----------------------------------------------------------------------------- import graph
def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix('').parts)
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def _imports(path: Path):
    """``(imported module, line, at_module_level)`` of every import statement in ``path``.

    Module level: executed on import (not inside a function, nor under ``if TYPE_CHECKING``).
    ``from a import b`` yields ``a`` and, when ``a.b`` is a module of ours, ``a.b``.
    """
    name = _module_name(path)
    package = name.split('.') if path.name == '__init__.py' else name.split('.')[:-1]
    found = []

    def visit(nodes, module_level):
        for node in nodes:
            if isinstance(node, ast.Import):
                found.extend((a.name, node.lineno, module_level) for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[:len(package) - node.level + 1]
                    target = '.'.join(base + ([node.module] if node.module else []))
                else:
                    target = node.module
                found.append((target, node.lineno, module_level))
                for alias in node.names:
                    sub = f'{target}.{alias.name}'
                    if (REPO / Path(*sub.split('.'))).is_dir() or \
                            (REPO / Path(*sub.split('.'))).with_suffix('.py').is_file():
                        found.append((sub, node.lineno, module_level))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(node.body, False)
            elif isinstance(node, ast.If) and 'TYPE_CHECKING' in ast.unparse(node.test):
                visit(node.body, False)
                visit(node.orelse, module_level)
            else:
                for field in ('body', 'orelse', 'finalbody', 'handlers'):
                    child = getattr(node, field, None)
                    if isinstance(child, list):
                        visit(child, module_level)

    visit(ast.parse(path.read_text(encoding='utf-8'), str(path)).body, True)
    return found


def _top(module: str) -> str:
    """``mmloc.models.localizers.bmn`` -> ``mmloc.models``."""
    return '.'.join(module.split('.')[:2])


def _import_edges(module_level_only: bool):
    """``{(from_subpackage, to_subpackage): ['file:line', ...]}`` within mmloc."""
    edges = {}
    for path in sorted(PACKAGE.rglob('*.py')):
        src = _top(_module_name(path))
        for target, line, module_level in _imports(path):
            if not target or not target.startswith('mmloc.') or (module_level_only and
                                                                 not module_level):
                continue
            dst = _top(target)
            if dst != src:
                edges.setdefault((src, dst), []).append(
                    f'{path.relative_to(REPO)}:{line} imports {target}')
    return edges


def _find_cycle(edges):
    graph = {}
    for src, dst in edges:
        graph.setdefault(src, set()).add(dst)
    state, stack = {}, []

    def dfs(node):
        state[node] = 'open'
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 'open':
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = dfs(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 'done'
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = dfs(node)
            if cycle:
                return cycle
    return None


def test_no_module_level_import_cycle_between_subpackages():
    edges = _import_edges(module_level_only=True)
    assert ('mmloc.models', 'mmloc.registry') in edges  # the walk does see imports
    cycle = _find_cycle(edges)
    if cycle:
        evidence = [f'{a} -> {b}: {edges[(a, b)][0]}' for a, b in zip(cycle, cycle[1:])]
        raise AssertionError('import cycle between mmloc subpackages:\n' + '\n'.join(evidence))


def test_models_import_neither_datasets_nor_engine():
    edges = _import_edges(module_level_only=False)
    bad = [where for (src, dst), found in edges.items() for where in found
           if src == 'mmloc.models' and dst in ('mmloc.datasets', 'mmloc.engine')]
    assert not bad, 'mmloc.models must not import mmloc.datasets / mmloc.engine:\n' + \
        '\n'.join(bad)


def test_the_cycle_finder_finds_cycles():
    assert _find_cycle({('a', 'b'): [], ('b', 'c'): [], ('c', 'a'): []}) == ['a', 'b', 'c', 'a']
    assert _find_cycle({('a', 'b'): [], ('a', 'c'): [], ('b', 'c'): []}) is None
