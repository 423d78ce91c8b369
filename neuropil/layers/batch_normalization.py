"""BatchNormalization: per channel, over the batch, with moving statistics for inference."""
from __future__ import annotations

from neuropil import backend, initializers, ops
from neuropil.layers.input_spec import InputSpec, format_shape
from neuropil.layers.layer import Layer
from neuropil.layers.normalization_utils import _affine_config, _flag, _set_affine

__all__ = ["BatchNormalization"]


class BatchNormalization(Layer):
    """Normalizes each channel to mean 0 and variance 1, then scales by gamma and shifts by beta.

    In training (``fit``, or ``training=True``) the layer uses the mean and the (biased)
    variance of the current batch over every axis but ``axis``, and moves its running
    statistics towards them::

        moving_mean     = moving_mean     * momentum + batch_mean     * (1 - momentum)
        moving_variance = moving_variance * momentum + batch_variance * (1 - momentum)

    In inference (``predict``, ``evaluate``, ``training=False`` or no flag) it uses the moving
    statistics: ``gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta``.
    As in Keras, a layer with ``trainable = False`` runs in inference mode even inside
    ``fit``, so fine-tuning with a frozen BatchNormalization leaves its statistics alone.
    The moving statistics are non-trainable weights: they never receive gradients.

    Under data parallelism (``neuropil.distribution.DataParallel``), each rank trains on its
    slice of every global batch, and by default (``synchronized=False``) this layer uses that
    slice's own (local) statistics, as Keras does on each device: the result then differs
    from one process with the whole batch, more so for small slices. With
    ``synchronized=True`` the mean and variance are those of the global batch (every rank's
    slice), and so are the per-channel sums of the backward pass, so n ranks with global
    batch B train like one process with batch B, moving statistics included. It costs one
    small collective (a few per-channel vectors) in forward and one in backward per step.
    Without a distribution, or in inference, ``synchronized=True`` changes nothing.

    Args:
        axis: the channel axis, normalized per entry (default -1, channels-last;
            use 1 after a ``data_format="channels_first"`` convolution).
        momentum: the moving averages' momentum (default 0.99). PyTorch's ``momentum`` is
            ``1 - momentum``.
        epsilon: added to the variance before the square root (default 1e-3).
        center: whether to add the learned offset beta.
        scale: whether to multiply by the learned gamma.
        beta_initializer, gamma_initializer, moving_mean_initializer,
            moving_variance_initializer: how the four weights start
            (zeros, ones, zeros, ones).
        beta_regularizer, gamma_regularizer: optional penalties.
        beta_constraint, gamma_constraint: optional ``keras.constraints`` applied after
            each optimizer step.
        synchronized: in training under a ``DataParallel`` distribution, use the statistics
            of the global batch across all ranks rather than this rank's slice (default
            False). Every rank must then run the layer in the same order, as ``fit`` does.
        renorm, renorm_clipping, renorm_momentum: Keras's batch renormalization; accepted
            so Keras configs load, but ``renorm=True`` is not supported.

    Input shape: any; ``input_shape[axis]`` must be known. Output shape: the same.
    Weights: gamma, beta (trainable), moving_mean, moving_variance (non-trainable), each of
    shape ``(channels,)``: 4 x channels parameters, half of them trainable.

    Example:
    >>> import neuropil as keras
    >>> layer = keras.layers.BatchNormalization()
    >>> y = layer(np.array([[1.0], [3.0]], "float32"), training=True)
    >>> np.round(y.numpy().ravel(), 3).tolist()  # (x - 2) / sqrt(1 + 0.001)
    [-1.0, 1.0]
    >>> layer.moving_mean.numpy()  # 0.99 * 0 + 0.01 * 2
    array([0.02], dtype=float32)
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, renorm=False, renorm_clipping=None,
                 renorm_momentum=0.99, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError("BatchNormalization: `axis` must be an integer (the channel axis). "
                            f"Received: axis={axis!r}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError("BatchNormalization: `momentum` must be in [0, 1]. "
                             f"Received: momentum={momentum!r}")
        if not epsilon >= 0:
            raise ValueError("BatchNormalization: `epsilon` must be >= 0 (typically 1e-3). "
                             f"Received: epsilon={epsilon!r}")
        if renorm:
            raise NotImplementedError("BatchNormalization: renorm=True (batch "
                                      "renormalization) is not supported by neuropil yet.")
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)
        _set_affine(self, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                    gamma_regularizer, beta_constraint, gamma_constraint)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.renorm, self.renorm_clipping = False, renorm_clipping
        self.renorm_momentum = renorm_momentum
        self.synchronized = _flag("BatchNormalization", "synchronized", synchronized)
        self.supports_masking = True
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None

    def build(self, input_shape):
        rank = len(input_shape)
        if not -rank <= self.axis < rank:
            raise ValueError(f'Layer "{self.name}": axis {self.axis} is out of bounds for input '
                             f"shape {format_shape(input_shape)}. Received: axis={self.axis}")
        channels = input_shape[self.axis]
        if channels is None:
            raise ValueError(f'Layer "{self.name}": the channel axis ({self.axis}) of the input '
                             f"must be known to build BatchNormalization. Received input shape "
                             f"{format_shape(input_shape)}")
        shape = (channels,)
        if self.scale:
            self.gamma = self.add_weight(shape, self.gamma_initializer, name="gamma",
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight(shape, self.beta_initializer, name="beta",
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint)
        self.moving_mean = self.add_weight(shape, self.moving_mean_initializer,
                                           trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(shape, self.moving_variance_initializer,
                                               trainable=False, name="moving_variance")
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: channels})

    def call(self, inputs, training=None):
        if training and self.trainable:
            # NOTE: backend.distribution() is None unless neuropil.distribution set one, so
            # without it nothing MPI-related is touched.
            distribution = backend.distribution()
            outputs, mean, variance = ops.batch_norm(
                inputs, self.gamma, self.beta, self.axis, self.epsilon, return_moments=True,
                distribution=distribution if self.synchronized else None)
            if distribution is not None and distribution.share == 0 and not self.synchronized:
                return outputs  # a stand-in for an empty slice: no local statistics to learn
            # Plain array updates: the moving statistics are state, not part of the graph.
            m = self.momentum
            self.moving_mean.assign(self.moving_mean.data * m + mean.data * (1.0 - m))
            self.moving_variance.assign(self.moving_variance.data * m +
                                        variance.data * (1.0 - m))
            return outputs
        return ops.batch_norm_inference(inputs, self.moving_mean, self.moving_variance,
                                        self.gamma, self.beta, self.axis, self.epsilon)

    def compute_output_shape(self, input_shape):
        rank = len(input_shape)
        if not -rank <= self.axis < rank:
            raise ValueError(f'Layer "{self.name}": axis {self.axis} is out of bounds for input '
                             f"shape {format_shape(input_shape)}. Received: axis={self.axis}")
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                **_affine_config(self),
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer":
                    initializers.serialize(self.moving_variance_initializer),
                "synchronized": self.synchronized, "renorm": self.renorm,
                "renorm_clipping": self.renorm_clipping,
                "renorm_momentum": self.renorm_momentum}
