"""BatchNormalization(synchronized=True) without MPI: the same as synchronized=False on one
process, and, with ranks simulated by threads, the global batch's statistics and gradients."""
import threading
from types import SimpleNamespace

import numpy as np
import pytest

import neuropil as keras
from neuropil import backend, layers, ops
from neuropil.autodiff import Tensor
from neuropil.distribution.data_parallel import DataParallel


def batch(*shape, seed=0):
    return np.random.default_rng(seed).normal(2.0, 3.0, shape).astype("float32")


# ---- one process, no distribution ------------------------------------------------------
def bn_model(synchronized):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6, 6, 3)), layers.Conv2D(4, 3),
                              layers.BatchNormalization(momentum=0.8,
                                                        synchronized=synchronized),
                              layers.Activation("relu"), layers.Flatten(), layers.Dense(2)])
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9), "mse")
    return model


def test_synchronized_without_a_distribution_trains_like_local_statistics():
    assert backend.distribution() is None
    x, y = batch(40, 6, 6, 3), batch(40, 2, seed=1)
    histories, weights = [], []
    for synchronized in (True, False):
        model = bn_model(synchronized)
        histories.append(model.fit(x, y, batch_size=16, epochs=2, shuffle=False,
                                   verbose=0).history["loss"])
        weights.append(model.get_weights())
    assert histories[0] == histories[1]
    assert len(weights[0]) == 8  # conv (2), gamma, beta, moving mean and variance, dense (2)
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)
    moving_mean = weights[0][4]
    assert np.abs(moving_mean).max() > 0.1  # the moving statistics did move


def test_synchronized_in_inference_uses_the_moving_statistics():
    x = batch(8, 3)
    synced, local = layers.BatchNormalization(synchronized=True), layers.BatchNormalization()
    np.testing.assert_array_equal(synced(x).numpy(), local(x).numpy())
    np.testing.assert_array_equal(synced(x, training=True).numpy(),
                                  local(x, training=True).numpy())


def test_synchronized_round_trips_through_the_config():
    layer = layers.BatchNormalization(synchronized=True, momentum=0.9, name="bn")
    config = layer.get_config()
    assert config["synchronized"] is True
    clone = layers.BatchNormalization.from_config(config)
    assert clone.synchronized is True and clone.get_config() == config
    assert layers.BatchNormalization().get_config()["synchronized"] is False
    model = keras.Sequential([keras.Input((3,)), layers.BatchNormalization(synchronized=True)])
    rebuilt = keras.Sequential.from_config(model.get_config())
    assert rebuilt.layers[-1].synchronized is True


def test_synchronized_must_be_a_bool():
    with pytest.raises(TypeError, match="BatchNormalization.*synchronized"):
        layers.BatchNormalization(synchronized="yes")


# ---- several ranks, simulated by threads -----------------------------------------------
class ThreadComm:
    """The two collectives synchronized batch norm uses, between threads of one process."""

    def __init__(self, rank, shared):
        self.rank, self.shared = rank, shared

    def Get_rank(self):
        return self.rank

    def Get_size(self):
        return len(self.shared.slots)

    def _exchange(self, array):
        self.shared.slots[self.rank] = np.array(array, copy=True)
        self.shared.barrier.wait()
        every = list(self.shared.slots)
        self.shared.barrier.wait()  # nobody overwrites a slot before all have read it
        return every

    def Allgather(self, send, receive):
        receive[...] = np.stack(self._exchange(send))

    def Allreduce(self, _in_place, buffer, op=None):
        every = self._exchange(buffer)
        total = every[0].copy()
        for part in every[1:]:
            total += part
        buffer[...] = total


class ThreadDataParallel(DataParallel):
    def __init__(self, rank, shared):  # no mpi4py: the communicator is ThreadComm
        self._mpi = SimpleNamespace(IN_PLACE=None, SUM=None)
        self.comm = ThreadComm(rank, shared)
        self.rank, self.num_processes = rank, len(shared.slots)
        self._buffer, self.share, self.batch_slice = None, None, None


def run_ranks(num_ranks, work):
    shared = SimpleNamespace(slots=[None] * num_ranks, barrier=threading.Barrier(num_ranks))
    results, errors = [None] * num_ranks, []

    def target(rank):
        try:
            results[rank] = work(ThreadDataParallel(rank, shared))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
            shared.barrier.abort()

    threads = [threading.Thread(target=target, args=(rank,)) for rank in range(num_ranks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return results


def bn_step(x, cotangent, gamma, beta, distribution=None, share=1.0):
    """y and the gradients of the loss share · Σ (cotangent / share) · y, fit's scaling."""
    xt = Tensor(x, requires_grad=True)
    gt, bt = Tensor(gamma, requires_grad=True), Tensor(beta, requires_grad=True)
    y, mean, variance = ops.batch_norm(xt, gt, bt, axis=-1, epsilon=1e-3,
                                       return_moments=True, distribution=distribution)
    y.backward(cotangent / share if share else np.zeros_like(cotangent))
    return dict(y=y.numpy(), mean=mean.numpy(), variance=variance.numpy(),
                dx=xt.grad * share, dgamma=gt.grad * share, dbeta=bt.grad * share)


def assert_close(actual, expected, name):
    """Equal to float32 rounding: sums of up to 120 float32 values per channel, added in
    another order, both off a float64 reference by up to ~1.5e-5 of the largest entry."""
    error = np.abs(actual - expected).max()
    assert error <= 5e-5 * np.abs(expected).max(), f"{name}: max difference {error}"


@pytest.mark.parametrize("num_ranks, shape", [(2, (16, 5)), (3, (10, 4, 3, 6)),
                                              (4, (3, 4, 4, 2))])
def test_ranks_together_equal_one_process_with_the_whole_batch(num_ranks, shape):
    """Per rank, the slice that fit would give it; summed, the gradients of the global loss.
    Uneven slices (10 samples on 3 ranks: 3, 4, 3) and, with 3 samples on 4 ranks, an empty
    slice standing in with the batch's first sample and share 0."""
    x = batch(*shape) + np.linspace(0, 50, shape[-1], dtype="float32")  # means ≫ spreads
    cotangent = batch(*shape, seed=1)
    gamma, beta = batch(shape[-1], seed=2), batch(shape[-1], seed=3)
    whole = bn_step(x, cotangent, gamma, beta)

    def work(dp):
        start, stop, share = dp.shard(shape[0])
        dp.share = share
        if stop == start:
            start, stop = 0, 1
        out = bn_step(x[start:stop], cotangent[start:stop], gamma, beta, dp, share)
        return start, stop, share, out

    ranks = run_ranks(num_ranks, work)
    for start, stop, share, out in ranks:
        for key in ("mean", "variance"):
            assert_close(out[key], whole[key], key)
        if share:
            assert_close(out["y"], whole["y"][start:stop], "y")
            assert_close(out["dx"], whole["dx"][start:stop], "dx")
    for key in ("dgamma", "dbeta"):  # what fit's weighted gradient allreduce adds up
        assert_close(sum(out[key] for *_, out in ranks), whole[key], key)
    # every rank holds bit-identical statistics, so the moving averages never drift apart
    for *_, out in ranks[1:]:
        np.testing.assert_array_equal(out["mean"], ranks[0][3]["mean"])
        np.testing.assert_array_equal(out["variance"], ranks[0][3]["variance"])
    assert (num_ranks == 4) == any(share == 0 for _, _, share, _ in ranks)


def test_local_statistics_on_the_same_slices_differ():
    """The power of the test above: without the distribution, each slice's own statistics
    and gradients are far from the whole batch's."""
    x, cotangent = batch(16, 5), batch(16, 5, seed=1)
    gamma, beta = batch(5, seed=2), batch(5, seed=3)
    whole = bn_step(x, cotangent, gamma, beta)
    half = bn_step(x[:8], cotangent[:8], gamma, beta, share=0.5)
    assert np.abs(half["mean"] - whole["mean"]).max() > 0.1
    assert np.abs(half["dx"] - whole["dx"][:8]).max() > 0.01


class StandIn:
    """A distribution as fit presents it on a rank whose slice is empty (share 0)."""
    share = 0.0


def test_a_stand_in_sample_leaves_local_moving_statistics_alone():
    layer = layers.BatchNormalization(momentum=0.5)
    x = batch(4, 3)
    layer(x, training=True)
    before = layer.moving_mean.numpy().copy(), layer.moving_variance.numpy().copy()
    backend.set_distribution(StandIn())
    try:
        layer(x[:1] + 100.0, training=True)
    finally:
        backend.set_distribution(None)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), before[0])
    np.testing.assert_array_equal(layer.moving_variance.numpy(), before[1])
    layer(x[:1] + 100.0, training=True)  # without the distribution it does move
    assert np.abs(layer.moving_mean.numpy() - before[0]).min() > 10

