"""What Keras lacks for learners: looking inside a network's numbers.

- ``trace(model, x)``: a forward pass with each neuron's z = w·x + b written out.
- ``count_weights(model)`` and ``output_shapes(model)``: the formulas behind ``summary()``.
- ``diagnose(history)``: underfitting, overfitting, still improving, diverging... (or
  ``fit(..., callbacks=[Diagnose()])`` to print it when training ends).
- ``backprop(model, x, y)``: one training step's gradients, with the chain rule written out.
- ``gradient_check``: backward passes (of an op, or of a whole model) against central
  differences in float64.
"""
from neuropil.explain.backprop import BackpropReport, ChainRule, WeightGradient, backprop
from neuropil.explain.counts import (ShapeReport, ShapeRow, WeightCount, WeightRow,
                                     count_weights, output_shapes)
from neuropil.explain.diagnose import (Diagnose, Diagnosis, Thresholds, diagnose,
                                       join_histories)
from neuropil.explain.gradcheck import GradientCheckResult, gradient_check
from neuropil.explain.modelcheck import ModelGradientCheck, WeightCheck, check_model_gradients
from neuropil.explain.trace import LayerTrace, Trace, trace

__all__ = ["trace", "Trace", "LayerTrace", "backprop", "BackpropReport", "ChainRule",
           "WeightGradient", "count_weights", "WeightCount", "WeightRow",
           "output_shapes", "ShapeReport", "ShapeRow", "diagnose", "Diagnosis", "Thresholds",
           "join_histories", "Diagnose", "gradient_check", "GradientCheckResult",
           "check_model_gradients", "ModelGradientCheck", "WeightCheck"]
