"""backend.threads: chunk loops shared by worker threads, BLAS held to one thread meanwhile."""
import threading
import time
import warnings

import numpy as np
import pytest

from neuropil.backend import spin, threads


@pytest.fixture(params=["spinning helpers", "thread pool"])
def two_workers(request, monkeypatch):
    """Two workers, through either hand-off: spinning helpers (with numba) or the pool."""
    if request.param == "thread pool":
        monkeypatch.setattr(threads, "_spinning_helpers", lambda count: None)
    elif not spin.available():
        pytest.skip("spinning helpers need numba")
    threads.set_num_threads(2)
    yield request.param
    threads.set_num_threads(None)


def blas_thread_counts():
    """The thread counts of the BLAS libraries neuropil controls (NumPy's; others, loaded
    later by SciPy or torch, are not used by neuropil's ops)."""
    pytest.importorskip("threadpoolctl")
    return [info["num_threads"] for info in threads._controller().info()]


def test_results_come_back_in_order(two_workers):
    assert threads.map_chunks(lambda i: i * i, range(10)) == [i * i for i in range(10)]
    assert threads.map_chunks(lambda i: i, []) == []


def test_two_workers_run_at_the_same_time(two_workers):
    # Each item waits until the other has started: this only finishes when two threads
    # run the items at once (a serial loop would raise BrokenBarrierError after 10 s).
    barrier = threading.Barrier(2, timeout=10)
    names = threads.map_chunks(lambda _: (barrier.wait(), threading.current_thread().name)[1],
                               [0, 1])
    assert len(set(names)) == 2
    if two_workers == "spinning helpers":
        assert "neuropil-helper" in names


def test_an_error_in_a_worker_reaches_the_caller(two_workers):
    def fail_on_three(i):
        if i == 3:
            raise KeyError("chunk 3")
        return i

    with pytest.raises(KeyError, match="chunk 3"):
        threads.map_chunks(fail_on_three, range(8))
    assert threads.map_chunks(lambda i: i, range(4)) == [0, 1, 2, 3]  # still usable


def test_nested_calls_run_in_the_worker_without_deadlock(two_workers):
    out = threads.map_chunks(lambda i: sum(threads.map_chunks(lambda j: i * j, range(3))),
                             range(4))
    assert out == [3 * i for i in range(4)]


def test_numpy_error_settings_hold_in_the_workers(two_workers):
    # The test suite raises on floating-point errors; the helpers run in the caller's context.
    with np.errstate(divide="raise"):
        with pytest.raises(FloatingPointError):
            threads.map_chunks(lambda i: np.float64(i) / np.float64(0.0), [1, 2, 3, 4])


def test_blas_is_on_one_thread_inside_and_restored_after(two_workers):
    before = blas_thread_counts()
    inside = threads.map_chunks(lambda _: blas_thread_counts(), range(4))
    assert all(counts == [1] * len(before) for counts in inside)
    assert blas_thread_counts() == before


def test_one_worker_chosen_means_one_blas_thread_too():
    before = blas_thread_counts()
    threads.set_num_threads(1)
    try:
        names = threads.map_chunks(lambda _: threading.current_thread().name, range(3))
        inside = threads.map_chunks(lambda _: blas_thread_counts(), range(2))
    finally:
        threads.set_num_threads(None)
    assert set(names) == {threading.current_thread().name}
    assert inside == [[1] * len(before)] * 2
    assert blas_thread_counts() == before


def test_a_region_after_parallel_work_keeps_blas_on_one_thread(two_workers):
    before = blas_thread_counts()
    with threads.region():  # uses the workers: the next region holds BLAS to one thread
        threads.map_chunks(lambda i: i, range(4))
    with threads.region():
        during = blas_thread_counts()
        with threads.region():  # nested: part of the outer one
            nested = blas_thread_counts()
    assert during == nested == [1] * len(before)
    assert blas_thread_counts() == before
    with threads.region():  # the last region used no workers: BLAS keeps its threads
        assert blas_thread_counts() == before


def test_matmul_is_shared_among_the_workers_inside_a_one_thread_region(two_workers,
                                                                        monkeypatch):
    blas_thread_counts()
    monkeypatch.setattr(threads, "SPLIT_MACS", 1)
    rng = np.random.default_rng(0)
    tall, wide = rng.standard_normal((37, 5)), rng.standard_normal((5, 41))
    calls = []
    original = threads.map_chunks
    monkeypatch.setattr(threads, "map_chunks", lambda fn, items: calls.append(len(items))
                        or original(fn, items))
    with threads.region():
        original(lambda i: i, range(2))
    with threads.region():
        np.testing.assert_allclose(threads.matmul(tall, wide), tall @ wide, rtol=1e-12)
        np.testing.assert_allclose(threads.matmul(wide.T, tall.T), wide.T @ tall.T,
                                   rtol=1e-12)
        np.testing.assert_allclose(threads.matmul(tall, wide[:, :3]), tall @ wide[:, :3],
                                   rtol=1e-12)
    assert calls == [2, 2, 2]
    calls.clear()
    np.testing.assert_allclose(threads.matmul(tall, wide), tall @ wide)  # outside: np.matmul
    assert calls == []


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_num_threads_rejects_what_is_not_a_count(bad):
    with pytest.raises((ValueError, TypeError)):
        threads.set_num_threads(bad)


def test_a_forked_child_starts_its_own_workers(two_workers):
    """After os.fork the parent's pool threads do not exist in the child: chunk loops there
    must still finish (they would wait forever on the parent's pool)."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    threads.map_chunks(lambda i: i, range(4))  # the parent's pool exists now
    context = multiprocessing.get_context("fork")
    with warnings.catch_warnings():  # Python >= 3.12 warns about forking with threads
        warnings.simplefilter("ignore", DeprecationWarning)
        with context.Pool(1) as pool:
            result = pool.apply_async(_sum_in_chunks, (10,)).get(timeout=60)
    assert result == sum(range(10))


def _sum_in_chunks(n):
    threads.set_num_threads(2)
    return sum(threads.map_chunks(lambda i: i, range(n)))


def test_helpers_that_fell_asleep_still_take_work(two_workers, monkeypatch):
    monkeypatch.setattr(spin, "SPIN_ROUNDS", 1)  # every wait ends asleep at once
    for _ in range(3):
        time.sleep(0.01)
        assert threads.map_chunks(lambda i: i + 1, range(6)) == [1, 2, 3, 4, 5, 6]


def test_chunk_loops_from_two_user_threads_at_once(two_workers):
    """Only one call at a time may use the spinning helpers; another, meanwhile, uses the
    pool. Both must get their own results."""
    results, errors = {}, []

    def loop(name, offset):
        try:
            for _ in range(50):
                got = threads.map_chunks(lambda i: (time.sleep(0.0001), i + offset)[1],
                                         range(8))
                assert got == [i + offset for i in range(8)]
            results[name] = True
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    users = [threading.Thread(target=loop, args=(name, offset))
             for name, offset in (("a", 0), ("b", 100))]
    for user in users:
        user.start()
    for user in users:
        user.join(timeout=60)
    assert not errors and results == {"a": True, "b": True}
