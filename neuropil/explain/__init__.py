"""What Keras lacks for learners: looking inside a network's numbers.

``gradient_check`` verifies a backward pass against central differences.
"""
from neuropil.explain.gradcheck import GradientCheckResult, gradient_check

__all__ = ["gradient_check", "GradientCheckResult"]
