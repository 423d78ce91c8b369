"""Data-parallel training steps (``neuropil.distribution``), mixed into ``Trainer``.

With a distribution set, ``fit`` starts every rank from rank 0's weights and the same
shuffle, each step trains on this rank's slice of the global batch and averages the
gradients over all ranks, and the logs are those of the global batch. Nothing here imports
MPI: the distribution object does the communication.
"""
from __future__ import annotations

from neuropil import backend
from neuropil.autodiff import no_grad
from neuropil.layers.node import map_structure
from neuropil.training.batching import ArrayBatches, num_samples

__all__ = ["DataParallelSteps"]


class DataParallelSteps:
    """The distributed parts of ``Trainer`` (which provides ``_logs``, ``_run_step``,
    ``_descend``, ``compute_loss``, the metrics and the model call)."""

    def _distributed_logs(self) -> dict:
        """The logs over all ranks: every metric's state (totals and counts) summed across
        ranks for the result, then put back, so each rank keeps accumulating its own."""
        distribution, self._distribution = self._distribution, None
        trackers = self.metrics + [self._data_loss_tracker]
        if self._compiled_loss is not None and self._compiled_loss.built:
            trackers += [t for t in self._compiled_loss.trackers if t is not None]
        variables = [v for metric in trackers for v in metric.variables]
        local = [v.data.copy() for v in variables]
        try:
            for variable, summed in zip(variables, distribution.sum_arrays(local)):
                variable.data[...] = summed
            return self._logs()
        finally:
            for variable, value in zip(variables, local):
                variable.data[...] = value
            self._distribution = distribution

    def _begin_distributed_fit(self, x, batches):
        """With a distribution set: build the model, start every rank from rank 0's weights,
        and shuffle alike on every rank. Returns the distribution (or None).

        Data that comes in batches (generator, iterable, PyDataset) is read on every rank:
        each must yield the same batches in the same order, and keeps its slice of each.
        An unbuilt model is then built, and the weights shared, at the first batch."""
        distribution = backend.distribution()
        if distribution is None:
            return None
        self._pending_broadcast = False
        if self.built:
            distribution.broadcast_variables(self.weights)
        elif isinstance(batches, ArrayBatches):
            with no_grad():
                self(map_structure(lambda a: a[:1], x), training=False)
            distribution.broadcast_variables(self.weights)
        else:
            self._pending_broadcast = True
        distribution.share_global_stream()  # shuffles alike on every rank
        self._distribution = distribution
        return distribution

    def _distributed_train_step(self, distribution, x, y, sample_weight) -> dict:
        """This rank's slice of the global batch, then gradients averaged over all ranks."""
        if self._pending_broadcast:  # a model built by its first batch (generator data)
            with no_grad():
                self(map_structure(lambda a: a[:1], x), training=False)
            distribution.broadcast_variables(self.weights)
            self._pending_broadcast = False
        start, stop, share = distribution.shard(num_samples(x, "x"))
        if stop == start:
            # NOTE: a global batch smaller than the number of ranks leaves this rank nothing.
            # It still joins every collective of the step (synchronized BatchNormalization's
            # and the gradients' allreduce) by running it on a stand-in, the batch's first
            # sample, with share 0: its statistics and gradients count for nothing, and its
            # metrics are left alone.
            start, stop = 0, 1
        pick = lambda data: map_structure(  # noqa: E731
            lambda a: None if a is None else a[start:stop], data)
        self._gradient_share = distribution.share = share
        # Random layers draw the global batch's numbers and keep this slice (batch_draw).
        distribution.batch_slice = (start, stop, num_samples(x, "x"))
        try:
            if share:
                return self._run_step("train_step", pick(x), pick(y), pick(sample_weight))
            xb, yb, wb = pick(x), pick(y), pick(sample_weight)
            self._descend(self.compute_loss(xb, yb, self(xb, training=True), wb))
            return self._logs()
        finally:
            self._gradient_share = distribution.share = None
            distribution.batch_slice = None
