"""``track``: a progress bar on a terminal for loops that run longer than a few seconds."""
import io
import time

import numpy as np

from mmloc.evaluation.functional import average_recall_at_avg_proposals
from mmloc.utils.progress import track


class Terminal(io.StringIO):
    def isatty(self):
        return True


def _slow(n, pause=0.002):
    for i in range(n):
        time.sleep(pause)
        yield i


def test_a_long_loop_on_a_terminal_shows_a_bar():
    term = Terminal()
    assert list(track(_slow(50), total=50, desc='reading x', delay_s=0.02, stream=term,
                      refresh_s=0.0)) == list(range(50))
    text = term.getvalue()
    assert text.startswith('reading x\n[') and '50/50' in text and text.endswith('\n')
    assert 'task/s' in text and 'ETA' in text


def test_no_bar_when_quick_or_not_a_terminal():
    term = Terminal()
    assert list(track(range(1000), desc='x', delay_s=5.0, stream=term)) == list(range(1000))
    assert term.getvalue() == ''
    piped = io.StringIO()                       # redirected: never a bar
    assert list(track(_slow(20), total=20, delay_s=0.0, stream=piped)) == list(range(20))
    assert piped.getvalue() == ''
    assert list(track(iter([1, 2]), stream=Terminal(), delay_s=0.0)) == [1, 2]   # no total


def test_a_loop_left_early_ends_its_line():
    term = Terminal()
    for i in track(_slow(100), total=100, delay_s=0.0, stream=term):
        if i == 10:
            break
    assert term.getvalue().endswith('\n') and '/100' in term.getvalue()


def test_the_evaluation_loops_report_on_stderr_only(monkeypatch, capsys):
    """AR@AN draws its bar on stderr when that is a terminal; stdout stays clean (the tools'
    last JSON line) and the numbers do not change."""
    rng = np.random.default_rng(0)
    gt = {f'v{i}': np.array([[1.0, 3.0]]) for i in range(30)}
    props = {f'v{i}': np.c_[np.sort(rng.uniform(0, 5, (20, 2)), 1), rng.random(20)]
             for i in range(30)}
    quiet = average_recall_at_avg_proposals(gt, props)
    term = Terminal()
    monkeypatch.setattr('sys.stderr', term)
    monkeypatch.setattr('mmloc.utils.progress.time.time',
                        iter(np.arange(0, 1000, 1.0)).__next__)   # every item takes 1 s
    loud = average_recall_at_avg_proposals(gt, props)
    assert '30/30' in term.getvalue() and 'AR@AN' in term.getvalue()
    assert capsys.readouterr().out == ''
    np.testing.assert_array_equal(quiet['recall'], loud['recall'])
