"""The shell commands of the user docs: every `python tools/...` line parses with that tool's
argument parser, every config / requirements file / make target it names exists.

What the commands *do* is exercised by the tool tests (tests/apis, tests/visualization,
tests/deployment, tests/tools) and by `make demo`.
"""
import importlib.util
import os.path as osp
import re
import shlex
import sys
from unittest import mock

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOCS = ['docs/get_started.md', 'docs/config.md', 'docs/data_preparation.md', 'docs/bmn.md',
        'docs/custom_dataset.md', 'README.md', 'docs/bsn.md', 'docs/ssn.md', 'docs/afsd.md',
        'docs/actionformer.md', 'docs/tridet.md', 'docs/evaluation.md']


def shell_commands(text):
    """Commands of the ```bash blocks: continuation lines joined, comments dropped."""
    out = []
    for block in re.findall(r'```bash\n(.*?)```', text, re.S):
        joined = re.sub(r'\\\n\s*', ' ', block)
        for line in joined.splitlines():
            words = shlex.split(line, comments=True)
            if words:
                out.append(words)
    return out


def _commands():
    cases = []
    for doc in DOCS:
        with open(osp.join(REPO, doc), encoding='utf-8') as f:
            for words in shell_commands(f.read()):
                cases.append(pytest.param(doc, words, id=f'{osp.basename(doc)}:{words[0]} '
                                                         f'{words[1] if len(words) > 1 else ""}'))
    return cases


def test_shell_commands_helper():
    text = 'x\n```bash\nmake demo   # note\npython tools/a.py A \\\n   --b c\n```\n'
    assert shell_commands(text) == [['make', 'demo'], ['python', 'tools/a.py', 'A', '--b', 'c']]


def _parse_with_tool(script, argv):
    spec = importlib.util.spec_from_file_location('doc_tool_' + osp.basename(script)[:-3],
                                                  osp.join(REPO, script))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    try:
        return mod.parse_args(argv)
    except TypeError:  # parse_args() reads sys.argv
        with mock.patch.object(sys, 'argv', [script] + argv):
            return mod.parse_args()


@pytest.mark.parametrize('doc,words', _commands())
def test_documented_command(doc, words):
    where = f'{doc}: {" ".join(words)}'
    if words[0] == 'make':
        with open(osp.join(REPO, 'Makefile')) as f:
            targets = re.findall(r'^([\w-]+):', f.read(), re.M)
        assert words[1] in targets, where
        return
    if words[0] == 'pip':
        for i, w in enumerate(words):
            if w == '-r':
                assert osp.isfile(osp.join(REPO, words[i + 1])), where
        return
    assert words[0] == 'python', where
    if words[1] == '-c':
        return
    script = words[1]
    assert script.startswith('tools/') and osp.isfile(osp.join(REPO, script)), where
    for w in words[2:]:
        if w.startswith('configs/'):
            assert osp.isfile(osp.join(REPO, w)), f'{where}: {w} does not exist'
    try:
        _parse_with_tool(script, words[2:])
    except SystemExit as err:
        pytest.fail(f'{where}: rejected by the argument parser ({err})')
