"""backend.spin: helper threads that spin a while before sleeping."""
import threading
import time

import pytest

from neuropil.backend import spin

pytestmark = pytest.mark.skipif(not spin.available(), reason="spinning helpers need numba")


def test_a_task_runs_on_the_helper_and_join_waits_for_it():
    helper, seen = spin.Helper(), []
    helper.start(lambda: (time.sleep(0.05), seen.append(threading.current_thread().name)))
    helper.join()  # returns only after the task: the sleep above has passed
    assert seen == ["neuropil-helper"]


@pytest.mark.parametrize("rounds", [spin.SPIN_ROUNDS, 1])
def test_tasks_run_one_after_another_spinning_or_asleep(monkeypatch, rounds):
    monkeypatch.setattr(spin, "SPIN_ROUNDS", rounds)  # 1: every wait ends asleep
    helper, seen = spin.Helper(), []
    for i in range(20):
        if i % 5 == 0:
            time.sleep(0.005)  # the helper has time to fall asleep between tasks
        helper.start(lambda i=i: seen.append(i))
        helper.join()
        assert seen == list(range(i + 1))


def test_a_failing_task_leaves_the_helper_working():
    helper, seen = spin.Helper(), []
    helper.start(lambda: 1 / 0)
    helper.join()
    helper.start(lambda: seen.append("next"))
    helper.join()
    assert seen == ["next"]


def test_disabled_by_the_environment(monkeypatch):
    monkeypatch.setenv("NEUROPIL_DISABLE_NUMBA", "1")
    assert spin._compile() is False
