"""Level 2: every differentiable function, forward and backward side by side.

Import the functions from here: ``from neuropil import ops; ops.relu(x)``.
"""
from neuropil.ops.activations import (elu, erf, gelu, leaky_relu, log_softmax, relu, selu,
                                      sigmoid, silu, softmax, softplus, tanh)
from neuropil.ops.conv import conv2d, conv2d_transpose, depthwise_conv2d
from neuropil.ops.elementwise import (abs, add, clip, divide, exp, log, maximum, minimum,
                                      multiply, negative, power, sqrt, square, subtract,
                                      unbroadcast, where)
from neuropil.ops.linalg import dense, matmul
from neuropil.ops.loss import (sigmoid_binary_cross_entropy, softmax_cross_entropy,
                               sparse_softmax_cross_entropy)
from neuropil.ops.noise import alpha_dropout, dropout, gaussian_dropout, gaussian_noise
from neuropil.ops.norm import batch_norm, batch_norm_inference, layer_norm
from neuropil.ops.pool import avg_pool2d, max_pool2d, pad
from neuropil.ops.reduce import max, mean, min, sum
from neuropil.ops.shape import (broadcast_to, concatenate, expand_dims, flatten, getitem,
                                reshape, squeeze, stack, transpose)
