"""Lambda: any function of tensors, used as a layer in a model."""
from __future__ import annotations

import inspect

from neuropil.layers.layer import Layer, flatten_structure_shapes
from neuropil.layers.node import map_structure

__all__ = ["Lambda"]


class Lambda(Layer):
    """Wraps a function of tensors as a layer: ``Lambda(lambda x: x ** 2)``.

    For quick experiments; a model meant to be saved should use a subclass of ``Layer``
    (or a named function registered with ``@keras.saving.register_keras_serializable()``).
    Keras saves a Python lambda as bytecode and refuses to load it unless told
    ``safe_mode=False``; neuropil never writes or runs code from a file, so saving a model
    whose Lambda holds a Python lambda raises an error that names the layer. A named
    function is saved by name, and loading finds it among the registered functions or in
    ``custom_objects``.

    Args:
        function: called as ``function(inputs, **arguments)`` (plus ``training=`` when it
            takes that argument).
        output_shape: the output shape without the batch axis (a tuple), or a function of
            the full input shape; by default found by running ``function`` on a zero batch.
        mask: accepted for compatibility; neuropil has no masking, so it must be None.
        arguments: extra keyword arguments for ``function``.

    Example:
    >>> square = keras.layers.Lambda(lambda x: x ** 2)
    >>> square(np.array([[1.0, 2.0]])).numpy()
    array([[1., 4.]], dtype=float32)
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise ValueError(f'Lambda "{self.name}": `function` must be callable. Received: '
                             f"function={function!r}")
        if mask is not None:
            raise ValueError(f'Lambda "{self.name}": neuropil has no masking; pass mask=None. '
                             f"Received: mask={mask!r}")
        if isinstance(output_shape, list) and all(d is None or isinstance(d, int)
                                                  for d in output_shape):
            output_shape = tuple(output_shape)  # as JSON gives it back
        self.function = function
        self.arguments = dict(arguments or {})
        self.mask = None
        self._output_shape = output_shape
        try:
            parameters = inspect.signature(function).parameters
        except (TypeError, ValueError):
            parameters = {}
        self._fn_expects_training_arg = "training" in parameters

    def call(self, inputs, training=None):
        kwargs = dict(self.arguments)
        if self._fn_expects_training_arg:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            try:
                return super().compute_output_shape(input_shape)
            except Exception as error:
                raise NotImplementedError(
                    f'We could not automatically infer the shape of the Lambda "{self.name}"\'s '
                    f"output ({type(error).__name__}: {error}). Please specify the "
                    "`output_shape` argument for this Lambda layer.") from error
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        batch = flatten_structure_shapes(input_shape)[0][0]
        return map_structure(lambda shape: (batch,) + tuple(shape), self._output_shape,
                             is_leaf=lambda s: isinstance(s, tuple) and all(
                                 d is None or isinstance(d, int) for d in s))

    def get_config(self):
        """The function itself (and ``output_shape`` when given): ``keras.saving`` writes a
        named function by name, and refuses a Python lambda."""
        config = {**super().get_config(), "function": self.function}
        if self._output_shape is not None:
            config["output_shape"] = self._output_shape if callable(self._output_shape) \
                else list(self._output_shape)
        config["arguments"] = dict(self.arguments)
        return config
