"""The training loop: compile, fit, evaluate, predict, and their one-batch versions.

``Trainer`` is mixed into ``Model``; it only relies on the model being callable
(``self(x, training=...)``) and on its ``trainable_weights`` and ``losses``. Its argument
checks and defaults are in ``arguments.py``, its data-parallel steps in
``distributed_steps.py``, the batching of data in ``batching.py``.
"""
from __future__ import annotations

import warnings

import numpy as np

from neuropil import config, optimizers
from neuropil.autodiff import no_grad
from neuropil.callbacks import CallbackList
from neuropil.metrics import Mean
from neuropil.layers.node import flatten_structure
from neuropil.training.arguments import (check_numeric, concatenate, default_batch_size,
                                         pythonify, resolve_verbose, should_validate,
                                         unpack_data, with_class_weight)
from neuropil.training.batching import (ArrayBatches, IterableBatches, check_finite,
                                        is_batch_source, num_samples, split_validation,
                                        to_arrays)
from neuropil.training.compile_utils import CompiledLoss, CompiledMetrics
from neuropil.training.distributed_steps import DataParallelSteps

__all__ = ["Trainer"]


_PACKED = object()  # train_step(data) called Keras's way, with the batch as one tuple
_STEP_STYLE: dict = {}  # step function -> takes Keras's one `data` argument


def _takes_packed_data(step) -> bool:
    """True for an override written Keras's way, ``def train_step(self, data)``."""
    function = getattr(step, "__func__", step)
    if function is Trainer.train_step or function is Trainer.test_step:
        return False
    if function not in _STEP_STYLE:
        import inspect
        try:
            parameters = inspect.signature(step).parameters.values()
        except (TypeError, ValueError):
            _STEP_STYLE[function] = False
        else:
            positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY,
                                                              p.POSITIONAL_OR_KEYWORD)]
            varargs = any(p.kind is p.VAR_POSITIONAL for p in parameters)
            _STEP_STYLE[function] = len(positional) == 1 and not varargs
    return _STEP_STYLE[function]


class Trainer(DataParallelSteps):
    """compile / fit / evaluate / predict, with Keras's arguments and defaults."""

    compiled = False
    optimizer = None
    stop_training = False
    _loss_sources = None
    stop_evaluating = False
    stop_predicting = False
    _initial_epoch = None  # set by BackupAndRestore in on_train_begin to resume a fit

    # ---- compile ---------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        """Chooses how the model learns.

        Args:
            optimizer: name (``"sgd"``, ``"rmsprop"``, ``"adam"``) or optimizer object.
            loss: name (``"categorical_crossentropy"``, ``"mse"``, ...), function or ``Loss``;
                for several outputs, one for all, or a list (one per output, None to skip
                one) or a dict keyed by output name.
            loss_weights: several outputs: a list or dict of floats scaling each output's
                loss in the total (the logged ``"<output>_loss"`` values are unscaled).
            metrics: list of names or metric objects to report, e.g. ``["accuracy"]``; for
                several outputs, a list with one entry (a metric or a list) per output, or a
                dict keyed by output name. Logged as ``"<output>_<metric>"``.
            weighted_metrics: metrics that take ``sample_weight`` into account.
            run_eagerly, steps_per_execution, jit_compile, auto_scale_loss: accepted for
                compatibility (neuropil always runs eagerly).
        """
        self.optimizer = optimizers.get(optimizer)
        self.loss, self.loss_weights = loss, loss_weights
        output_names = getattr(self, "output_names", None)
        self._compiled_loss = CompiledLoss(loss, loss_weights, output_names) \
            if loss is not None else None
        self._compiled_metrics = CompiledMetrics(metrics, weighted_metrics, output_names)
        self._loss_tracker = Mean(name="loss")
        # Beyond Keras: when weight penalties exist, "data_loss" is the loss without them, so
        # a learner sees what the regularization costs (loss = data_loss + penalties).
        self._data_loss_tracker = Mean(name="data_loss")
        self._data_loss = None
        self._trainable_cache = None  # trainable weights are fixed at compile, as in Keras
        self._loss_sources = None  # (all layers, regularized weights), listed on first use
        self.compiled = True
        self.stop_training = False

    def _assert_compiled(self, what: str) -> None:
        if not self.compiled:
            raise RuntimeError(f"You must call `compile()` before `{what}()`: e.g. "
                               "model.compile(optimizer='adam', "
                               "loss='sparse_categorical_crossentropy', metrics=['accuracy']).")

    @property
    def metrics(self) -> list:
        """The loss tracker, the compiled metrics, then each output's loss tracker (Keras's
        order; built on the first batch)."""
        if not self.compiled:
            return []
        loss_trackers = [t for t in self._compiled_loss.trackers if t is not None] \
            if self._compiled_loss is not None and self._compiled_loss.built else []
        if not self._compiled_metrics.built and (self._compiled_metrics.identifiers or
                                                 self._compiled_metrics.weighted_identifiers):
            # Keras's "compile_metrics" container: its update_state() builds the metrics.
            return [self._loss_tracker, self._compiled_metrics] + loss_trackers
        return [self._loss_tracker] + self._compiled_metrics.metrics + \
            self._compiled_metrics.weighted + loss_trackers

    @property
    def metrics_names(self) -> list:
        """The names of the values ``evaluate()`` returns as a list, in that order."""
        return self._result_order(self._logs()) if self.compiled else []

    def reset_metrics(self) -> None:
        for metric in self.metrics:
            metric.reset_state()
        if self.compiled:
            self._data_loss_tracker.reset_state()

    def _logs(self) -> dict:
        if self._distribution is not None:
            return self._distributed_logs()
        logs = {"loss": self._loss_tracker.result()}
        if float(self._data_loss_tracker.count.data):
            logs["data_loss"] = self._data_loss_tracker.result()
        logs.update(self._compiled_metrics.results())
        if self._compiled_loss is not None and self._compiled_loss.built:
            logs.update({t.name: t.result() for t in self._compiled_loss.trackers
                         if t is not None})
        return logs

    def _result_order(self, logs: dict) -> list:
        """Keras's list order: "loss", the metrics of a one-output model, each output's loss,
        then the other names sorted (a multi-output model's "<output>_<metric>")."""
        first = ["loss"]
        if getattr(self._compiled_metrics, "count", 1) == 1:
            first += self._compiled_metrics.names
        if self._compiled_loss is not None and self._compiled_loss.built:
            first += [t.name for t in self._compiled_loss.trackers if t is not None]
        first = [key for key in first if key in logs]
        # data_loss is ours, reported in the dict form only.
        return first + sorted(key for key in logs if key not in first and key != "data_loss")

    # ---- one step ------------------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The data loss plus every penalty in ``self.losses`` (regularizers, add_loss).

        Compiled without a loss, the model minimizes its added losses alone, as in Keras."""
        penalties = self._penalties()
        if self._compiled_loss is None:
            if not penalties:
                raise ValueError("No loss to compute: pass `loss=` to compile(), e.g. "
                                 "loss='mse', or add losses in call() with self.add_loss().")
            total = penalties[0]
            for penalty in penalties[1:]:
                total = total + penalty
            self._data_loss = None
            return total
        data_loss = total = self._compiled_loss(y, y_pred, sample_weight)
        for penalty in penalties:
            total = total + penalty
        self._data_loss = data_loss if total is not data_loss else None
        return total

    def train_step(self, x, y=_PACKED, sample_weight=None) -> dict:
        """One gradient step on a batch; returns the logs (metric name -> value).

        fit() calls it as ``train_step(x, y, sample_weight)``. Called Keras's way, with one
        argument (``super().train_step(data)`` in an override), ``data`` is ``x``, ``(x,)``,
        ``(x, y)`` or ``(x, y, sample_weight)``. An override may take either form: one
        written ``def train_step(self, data)`` gets the batch packed, as in Keras."""
        if y is _PACKED:
            x, y, sample_weight = unpack_data(x)
        y_pred = self(x, training=True)
        loss = self.compute_loss(x, y, y_pred, sample_weight)
        self._descend(loss)
        return self._track(loss, y, y_pred, sample_weight)

    def _descend(self, loss) -> None:
        """Backward from ``loss``, then one optimizer step on the trainable weights."""
        weights = self._trainable_for_step()
        if weights and loss.requires_grad:
            for weight in weights:
                weight.grad = None
            loss.backward()
            # A weight the loss does not reach keeps grad None: the optimizer leaves it alone
            # (no momentum drift, no weight decay), as Keras does, and warns.
            grads = [w.grad for w in weights]
            if self._distribution is not None:  # sum over ranks of share · local gradient
                grads = self._distribution.allreduce_gradients(grads, self._gradient_share)
            self.optimizer.apply(grads, weights)

    def test_step(self, x, y=_PACKED, sample_weight=None) -> dict:
        """One batch's loss and metrics in inference mode; called like ``train_step``."""
        if y is _PACKED:
            x, y, sample_weight = unpack_data(x)
        with no_grad():
            y_pred = self(x, training=False)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
        return self._track(loss, y, y_pred, sample_weight)

    def predict_step(self, x):
        with no_grad():
            return self(x, training=False)

    def _run_step(self, name: str, x, y, sample_weight) -> dict:
        """``train_step`` or ``test_step`` on one batch, the way the method is written: an
        override taking one ``data`` argument (Keras's signature) gets ``(x, y, w)`` packed
        as Keras packs it (``x`` alone when there are no targets)."""
        step = getattr(self, name)
        if not _takes_packed_data(step):
            return step(x, y, sample_weight)
        if name == "train_step":
            # A custom step calls loss.backward() itself: start it from clean gradients
            # (Keras's torch guide calls self.zero_grad() for this).
            self.zero_grad()
        if y is None:
            data = (x,) if isinstance(x, (list, tuple)) else x
        else:
            data = (x, y) if sample_weight is None else (x, y, sample_weight)
        return step(data)

    def zero_grad(self) -> None:
        """Clears the gradient of every weight (before a ``loss.backward()`` of one's own)."""
        for weight in self.weights:
            weight.grad = None

    def _epoch_logs(self, step_logs) -> dict:
        """The logs at the end of an epoch (or evaluation): the metrics' results, unless a
        custom step returned other names; then its last logs, as Keras does."""
        logs = self._logs()
        if isinstance(step_logs, dict) and set(pythonify(step_logs)) != set(logs):
            return pythonify(step_logs)
        return logs

    def _track(self, loss, y, y_pred, sample_weight) -> dict:
        first = flatten_structure(y_pred)[0]
        batch = len(first.data) if first.ndim else 1
        self._loss_tracker.update_state(np.asarray(loss.data), sample_weight=batch)
        if self._data_loss is not None:
            self._data_loss_tracker.update_state(np.asarray(self._data_loss.data),
                                                 sample_weight=batch)
        self._compiled_metrics.update_state(y, y_pred, sample_weight)
        return self._logs()

    def _penalties(self) -> list:
        """``self.losses``, without walking every layer's attributes on every step: the layers
        and regularized weights are listed once (the model is built by now) and cached until
        the next compile, like the trainable weights."""
        if self._loss_sources is None:
            layers, stack = [], [self]
            while stack:
                layer = stack.pop()
                if any(layer is seen for seen in layers):
                    continue  # a layer shared by two nested models counts once
                layers.append(layer)
                stack.extend(reversed(layer._sublayers()))
            regularized = [v for layer in layers for v in layer._own_weights
                           if v.regularizer is not None]
            self._loss_sources = (layers, regularized)
        layers, regularized = self._loss_sources
        penalties = [v.regularizer(v) for v in regularized]
        for layer in layers:
            if layer._activity_losses or layer._added_losses:
                penalties += layer._activity_losses + layer._added_losses
        return penalties

    def _trainable_for_step(self) -> list:
        if self._trainable_cache is None:
            self._trainable_cache = list(self.trainable_weights)
            if not self._trainable_cache:
                # Keras trains such a model (its metrics still update) and says so once.
                warnings.warn(f'Model "{self.name}" has no trainable weights: fit() will not '
                              "change it (is every layer trainable=False?).", stacklevel=3)
        return self._trainable_cache

    # ---- fit -------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, diagnose=False):
        """Trains the model for ``epochs`` passes over the data.

        Args:
            x, y: inputs and targets (NumPy arrays, or lists / dicts of arrays); or ``x``
                alone as data that comes in batches, ``y`` then None: a generator or other
                iterable yielding ``(x, y)`` or ``(x, y, sample_weight)`` tuples, a list of
                such tuples, a ``keras.utils.PyDataset`` or the dataset of
                ``keras.utils.image_dataset_from_directory``. Each batch is checked as it
                arrives (finite values; the input shape on the first batch).
            batch_size: samples per gradient step (default 32); leave it None for data that
                comes in batches (a value given is ignored, with a warning).
            epochs: the epoch to stop at (``epochs - initial_epoch`` epochs are run).
            verbose: 0 silent, 1 progress bar, 2 one line per epoch; ``"auto"`` is 1 on a
                terminal and 2 otherwise.
            callbacks: list of ``keras.callbacks.Callback``.
            validation_split: fraction of the data (the last samples, before shuffling)
                held out for validation.
            validation_data: ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight_val)``,
                or data that comes in batches, like ``x``.
            shuffle: reshuffle the training data every epoch (a sized ``PyDataset``: the
                batch order; ignored for generators and other iterables).
            class_weight: ``{class: weight}`` to weight the loss per class.
            sample_weight: per-sample loss weights.
            initial_epoch: epoch to start from (to resume training).
            steps_per_epoch, validation_steps: batches per epoch / per validation. Needed to
                end the epochs of an endless generator; with a number of steps, a generator
                is not restarted: each epoch continues where the previous one stopped.
            validation_batch_size: batch size for validation (default ``batch_size``).
            validation_freq: validate when the epoch number (from 1, counting
                ``initial_epoch``) is a multiple of this int, or in this list.
            diagnose: beyond Keras: when training ends, set ``history.diagnosis`` to
                ``neuropil.explain.diagnose(history)`` and print its verdict (unless
                ``verbose=0``).

        Returns:
            A ``History`` whose ``.history`` maps "loss", each metric and their "val_"
            versions to one value per epoch.
        """
        for name, value in (("epochs", epochs), ("initial_epoch", initial_epoch)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"fit(): `{name}` must be an integer. Received: "
                                f"{name}={value!r}")
        if steps_per_epoch is not None and (not isinstance(steps_per_epoch, (int, np.integer))
                                            or steps_per_epoch < 1):
            raise ValueError("fit(): `steps_per_epoch` must be a positive integer or None. "
                             f"Received: steps_per_epoch={steps_per_epoch!r}")
        should_validate(0, validation_freq)  # checks its type and value before training
        self._assert_compiled("fit")
        if config.max_epochs() is not None:  # keras.config.set_max_epochs: a global cap
            epochs = min(epochs, config.max_epochs())
        step_cap = config.max_steps_per_epoch()
        if is_batch_source(x):
            if validation_split and validation_data is None:
                raise ValueError("`validation_split` is only supported for NumPy arrays. "
                                 f"Received: x of type {type(x).__name__}. Pass "
                                 "`validation_data` (e.g. another generator) instead.")
            batches = self._batch_source(x, y, sample_weight, batch_size, steps_per_epoch,
                                         "fit", shuffle=shuffle)
        else:
            x, y, sample_weight = to_arrays(x), to_arrays(y), to_arrays(sample_weight)
            self._check_data(x, y, sample_weight, "fit")
            if validation_data is None and validation_split:
                (x, y, sample_weight), validation_data = split_validation(
                    x, y, sample_weight, validation_split)
            batches = ArrayBatches(x, y, sample_weight, default_batch_size(batch_size),
                                   shuffle=shuffle, steps=steps_per_epoch)
        validation = self._validation_batches(validation_data, validation_batch_size or
                                              batch_size, validation_steps)
        verbose = resolve_verbose(verbose)
        distribution = self._begin_distributed_fit(x, batches)
        if distribution is not None and not distribution.is_chief:
            # Only rank 0 prints and writes files; every rank trains.
            verbose = 0
            callbacks = [c for c in callbacks or [] if not getattr(c, "writes_files", False)]
        callback_list = self._callbacks(callbacks, verbose, epochs, batches.steps,
                                        add_history=True)
        self.stop_training = False
        callback_list.on_train_begin()
        initial_epoch, self._initial_epoch = self._initial_epoch or initial_epoch, None
        epoch_logs: dict = {}
        logs = None
        for epoch in range(initial_epoch, epochs):
            if batches.exhausted:  # a generator used up by the previous epochs
                warnings.warn("Your input ran out of data; interrupting training before "
                              f"epoch {epoch + 1}/{epochs}. Make sure that your generator can "
                              "generate at least `steps_per_epoch * epochs` batches.",
                              stacklevel=2)
                break
            self.reset_metrics()
            callback_list.on_epoch_begin(epoch)
            for step, (xb, yb, wb) in enumerate(batches):
                callback_list.on_train_batch_begin(step)
                wb = with_class_weight(wb, yb, class_weight)
                logs = (self._run_step("train_step", xb, yb, wb) if distribution is None
                        else self._distributed_train_step(distribution, xb, yb, wb))
                callback_list.on_train_batch_end(step, logs)
                if self.stop_training or step_cap is not None and step + 1 >= step_cap:
                    break
            batches.end_epoch()
            epoch_logs = self._epoch_logs(logs)
            if validation is not None and should_validate(epoch, validation_freq):
                val_logs = self._run_evaluation(validation, callback_list)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            callback_list.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        callback_list.on_train_end(epoch_logs)
        self._distribution = None
        if diagnose:
            # NOTE: explain is level 8, imported only when asked for (tools/levels.py).
            from neuropil.explain import diagnose as diagnose_history
            self.history.diagnosis = diagnose_history(self.history)
            if verbose:
                reasons = self.history.diagnosis.reasons
                print(f"Diagnosis: {self.history.diagnosis.verdict}"
                      + (f" - {reasons[0]}" if reasons else ""))
        return self.history

    # ---- data parallelism (neuropil.distribution) ----------------------------------------
    _distribution = None
    _pending_broadcast = False  # weights to share once the first batch has built the model

    def _batch_source(self, x, y, sample_weight, batch_size, steps, where, shuffle=False,
                      for_predict=False) -> IterableBatches:
        """Batches from a generator, iterable or PyDataset, with Keras's argument rules."""
        for name, value, what in (("y", y, "the targets"),
                                  ("sample_weight", sample_weight, "the sample weights")):
            if value is not None:
                raise ValueError(f"{where}(): when `x` is a {type(x).__name__} (data that comes "
                                 f"in batches), `{name}` should not be passed. Instead, {what} "
                                 "should be included in each batch: (x, y) or (x, y, "
                                 "sample_weight).")
        # NOTE: batch_size is ignored here, silently, as in Keras 3: the source makes its own
        # batches (Keras's guides pass it anyway, e.g. fit(dataset, batch_size=64); a
        # warning made those programs fail where warnings are errors).
        return IterableBatches(x, steps, shuffle=shuffle, for_predict=for_predict,
                               where="x", check_inputs=self._check_input_shape)

    def _validation_batches(self, validation_data, batch_size, steps):
        """validation_data -> a batches object made once and reused every epoch (so that a
        generator with ``validation_steps`` is consumed across epochs, as in Keras)."""
        if validation_data is None:
            return None
        if is_batch_source(validation_data):
            return IterableBatches(validation_data, steps, where="validation_data",
                                   check_inputs=self._check_input_shape)
        return ArrayBatches(*self._validation_arrays(validation_data),
                            default_batch_size(batch_size), steps=steps)

    def _validation_arrays(self, validation_data):
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("`validation_data` must be a tuple (x_val, y_val) or (x_val, "
                             "y_val, val_sample_weight). Received: "
                             f"{type(validation_data).__name__} of length "
                             f"{len(validation_data) if hasattr(validation_data, '__len__') else '?'}")
        arrays = [to_arrays(d) for d in validation_data] + [None] * (3 - len(validation_data))
        self._check_data(*arrays, "validation_data")
        return tuple(arrays)

    def _check_data(self, x, y, sample_weight, where: str) -> None:
        if x is None:
            raise ValueError(f"{where}(): `x` is required.")
        for name, data in (("x", x), ("y", y), ("sample_weight", sample_weight)):
            check_numeric(data, name, where)
        n = num_samples(x, "x")
        if y is not None and num_samples(y, "y") != n:
            raise ValueError(f"{where}(): `x` and `y` must have the same number of samples. "
                             f"Received: x has {n} samples, y has {num_samples(y, 'y')}.")
        check_finite(x, "x")
        if y is not None:
            check_finite(y, "y")
        self._check_input_shape(x)

    def _check_input_shape(self, x) -> None:
        """Compares data with a model built from keras.Input, naming the model."""
        expected = getattr(self, "_expected_input_shapes", lambda: None)()
        if expected is None:
            return
        if hasattr(self, "_flatten_inputs"):  # functional: lists, dicts by name
            arrays = self._flatten_inputs(x)
        elif isinstance(x, dict):
            raise ValueError(f'Model "{self.name}" takes its input as an array (or a list of '
                             f"arrays), not a dict. Received: a dict with keys {list(x)}.")
        else:
            arrays = [a for a in (x if isinstance(x, (list, tuple)) else [x])]
        if len(arrays) != len(expected):
            raise ValueError(f'Model "{self.name}" expects {len(expected)} input(s), but it '
                             f"received {len(arrays)} input arrays.")
        for array, shape in zip(arrays, expected):
            rank_ok = array.ndim == len(shape)
            sizes_ok = rank_ok and all(e is None or e == a for e, a in
                                       zip(shape[1:], array.shape[1:]))
            if not sizes_ok:
                from neuropil.layers.input_spec import format_shape
                raise ValueError(f'Input of model "{self.name}" is incompatible: expected shape '
                                 f"{format_shape(shape)}, received data of shape "
                                 f"{format_shape(array.shape)}. Each sample must have shape "
                                 f"{format_shape(shape[1:])}.")

    # ---- evaluate / predict ---------------------------------------------------------------
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        """The loss and metrics on the given data, in inference mode.

        ``x`` may be arrays (with ``y``) or data that comes in batches, as in ``fit()``;
        ``steps`` limits the batches (needed for an endless generator).

        Returns:
            The loss (a float) when there are no metrics, else ``[loss, metric, ...]``
            (see ``metrics_names``), or a dict when ``return_dict=True``.
        """
        self._assert_compiled("evaluate")
        if is_batch_source(x):
            batches = self._batch_source(x, y, sample_weight, batch_size, steps, "evaluate")
        else:
            x, y, sample_weight = to_arrays(x), to_arrays(y), to_arrays(sample_weight)
            self._check_data(x, y, sample_weight, "evaluate")
            batches = ArrayBatches(x, y, sample_weight, default_batch_size(batch_size),
                                   steps=steps)
        callback_list = self._callbacks(callbacks, resolve_verbose(verbose), 1, batches.steps)
        logs = self._run_evaluation(batches, callback_list)
        return self._format_result(logs, return_dict)

    def _format_result(self, logs: dict, return_dict: bool):
        if return_dict:
            return dict(logs)
        values = [logs[key] for key in self._result_order(logs)]
        return values[0] if len(values) == 1 else values

    def _run_evaluation(self, batches, callback_list) -> dict:
        self.reset_metrics()
        self.stop_evaluating = False
        callback_list.on_test_begin()
        steps = 0
        logs = None
        for step, (xb, yb, wb) in enumerate(batches):
            callback_list.on_test_batch_begin(step)
            logs = self._run_step("test_step", xb, yb, wb)
            callback_list.on_test_batch_end(step, logs)
            steps += 1
            if self.stop_evaluating:
                break
        batches.end_epoch()
        if not steps:  # only a used-up validation generator gets here
            raise ValueError("`validation_data` ran out of data: the generator was used up by "
                             "the previous validations. Pass `validation_steps` so that each "
                             "validation takes that many batches, or a re-iterable source "
                             "(a list of batches, a PyDataset, a dataset).")
        logs = self._epoch_logs(logs)
        callback_list.on_test_end(logs)
        return logs

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs for ``x``, computed in batches in inference mode.

        ``x`` may be arrays or data that comes in batches (a generator, iterable or
        ``PyDataset`` yielding inputs alone or tuples whose first item is the inputs);
        ``steps`` limits the batches (needed for an endless generator).

        Returns:
            A NumPy array (or a list of arrays for a model with several outputs).
        """
        if is_batch_source(x):
            batches = self._batch_source(x, None, None, batch_size, steps, "predict",
                                         for_predict=True)
        else:
            x = to_arrays(x)
            check_numeric(x, "x", "predict")
            num_samples(x, "x")
            check_finite(x, "x")
            self._check_input_shape(x)
            batches = ArrayBatches(x, None, None, default_batch_size(batch_size), steps=steps)
        callback_list = self._callbacks(callbacks, resolve_verbose(verbose), 1, batches.steps)
        self.stop_predicting = False
        callback_list.on_predict_begin()
        outputs = []
        for step, (xb, _, _) in enumerate(batches):
            callback_list.on_predict_batch_begin(step)
            outputs.append(self.predict_step(xb))
            callback_list.on_predict_batch_end(step, {"outputs": outputs[-1]})
            if self.stop_predicting:
                break
        batches.end_epoch()
        callback_list.on_predict_end()
        return concatenate(outputs)

    # ---- one batch ------------------------------------------------------------------------
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One gradient step on one batch; returns that batch's loss (and metrics)."""
        self._assert_compiled("train_on_batch")
        x, y, sample_weight = to_arrays(x), to_arrays(y), to_arrays(sample_weight)
        self._check_data(x, y, sample_weight, "train_on_batch")
        self.reset_metrics()  # per-batch values, as Keras does since 2026
        logs = self._run_step("train_step", x, y,
                              with_class_weight(sample_weight, y, class_weight))
        return self._format_result(self._epoch_logs(logs), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss (and metrics) of one batch in inference mode, without training."""
        self._assert_compiled("test_on_batch")
        x, y, sample_weight = to_arrays(x), to_arrays(y), to_arrays(sample_weight)
        self._check_data(x, y, sample_weight, "test_on_batch")
        self.reset_metrics()
        logs = self._run_step("test_step", x, y, sample_weight)
        return self._format_result(self._epoch_logs(logs), return_dict)

    def predict_on_batch(self, x):
        """The model's outputs for one batch, as a NumPy array."""
        x = to_arrays(x)
        self._check_input_shape(x)
        return concatenate([self.predict_step(x)])

    # ---- callbacks -------------------------------------------------------------------------
    def _callbacks(self, callbacks, verbose, epochs, steps, add_history=False) -> CallbackList:
        if isinstance(callbacks, CallbackList):
            callback_list = callbacks
        else:  # History and ProgbarLogger are added only when not given, as in Keras
            callback_list = CallbackList(callbacks, add_history=add_history,
                                         add_progbar=verbose != 0)
        callback_list.set_model(self)
        callback_list.set_params({"verbose": verbose, "epochs": epochs, "steps": steps})
        return callback_list
