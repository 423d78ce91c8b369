"""``keras.layers``: the building blocks of networks."""
from neuropil.layers.activation import ELU, LeakyReLU, ReLU, Softmax
from neuropil.layers.conv import Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D
from neuropil.layers.core import Activation, Dense, Identity, Input, InputLayer
from neuropil.layers.input_spec import InputSpec
from neuropil.layers.lambda_layer import Lambda
from neuropil.layers.layer import Layer
from neuropil.layers.merging import (Add, Average, Concatenate, Dot, Maximum, Minimum,
                                     Multiply, Subtract, add, average, concatenate, dot,
                                     maximum, minimum, multiply, subtract)
from neuropil.layers.normalization import BatchNormalization, LayerNormalization
from neuropil.layers.pooling import (AveragePooling2D, GlobalAveragePooling2D,
                                     GlobalMaxPooling2D, MaxPooling2D)
from neuropil.layers.preprocessing import (CenterCrop, Normalization, RandomBrightness,
                                          RandomContrast, RandomCrop, RandomFlip,
                                          RandomRotation, RandomTranslation, RandomZoom,
                                          Rescaling, Resizing)
from neuropil.layers.regularization import (AlphaDropout, Dropout, GaussianDropout,
                                            GaussianNoise, SpatialDropout1D, SpatialDropout2D,
                                            SpatialDropout3D)
from neuropil.layers.reshaping import Cropping2D, Flatten, Reshape, UpSampling2D, ZeroPadding2D

# PReLU, GroupNormalization, UnitNormalization, ActivityRegularization, Permute, RepeatVector
from neuropil.layers.activation import PReLU
from neuropil.layers.normalization import GroupNormalization, UnitNormalization
from neuropil.layers.regularization import ActivityRegularization
from neuropil.layers.reshaping_misc import Permute, RepeatVector

# 1-D convolution, pooling and reshaping layers (the 2-D ones on a height-1 axis)
from neuropil.layers.conv1d import Conv1D, Conv1DTranspose, DepthwiseConv1D, SeparableConv1D
from neuropil.layers.pooling import (AveragePooling1D, GlobalAveragePooling1D,
                                     GlobalMaxPooling1D, MaxPooling1D)
from neuropil.layers.reshaping import Cropping1D, UpSampling1D, ZeroPadding1D
Convolution1D, Convolution1DTranspose, SeparableConvolution1D = (Conv1D, Conv1DTranspose,
                                                                 SeparableConv1D)
MaxPool1D, AvgPool1D = MaxPooling1D, AveragePooling1D
GlobalAvgPool1D, GlobalMaxPool1D = GlobalAveragePooling1D, GlobalMaxPooling1D

# Keras's aliases
Convolution2D = Conv2D
MaxPool2D, AvgPool2D = MaxPooling2D, AveragePooling2D
GlobalAvgPool2D, GlobalMaxPool2D = GlobalAveragePooling2D, GlobalMaxPooling2D
SeparableConvolution2D, Convolution2DTranspose = SeparableConv2D, Conv2DTranspose

__all__ = ["Layer", "InputSpec", "Input", "InputLayer", "Dense", "Activation", "Identity",
           "ReLU", "LeakyReLU", "Softmax", "ELU", "Dropout", "Flatten", "Reshape",
           "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose", "MaxPooling2D",
           "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "ZeroPadding2D",
           "Cropping2D", "UpSampling2D", "Rescaling", "Convolution2D", "MaxPool2D", "AvgPool2D",
           "GlobalAvgPool2D", "GlobalMaxPool2D", "SeparableConvolution2D",
           "Convolution2DTranspose", "BatchNormalization", "LayerNormalization",
           "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
           "GaussianDropout", "AlphaDropout", "Normalization", "Resizing", "CenterCrop",
           "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomCrop",
           "RandomContrast", "RandomBrightness"]
# Merging layers and their functional forms (``layers.add([a, b])``), and Lambda.
__all__ += ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate",
            "Dot", "add", "subtract", "multiply", "average", "maximum", "minimum",
            "concatenate", "dot", "Lambda"]
__all__ += ["PReLU", "GroupNormalization", "UnitNormalization", "ActivityRegularization",
            "Permute", "RepeatVector"]
__all__ += ["Conv1D", "Conv1DTranspose", "DepthwiseConv1D", "SeparableConv1D", "MaxPooling1D",
            "AveragePooling1D", "GlobalAveragePooling1D", "GlobalMaxPooling1D", "Cropping1D",
            "UpSampling1D", "ZeroPadding1D", "Convolution1D", "Convolution1DTranspose",
            "SeparableConvolution1D", "MaxPool1D", "AvgPool1D", "GlobalAvgPool1D",
            "GlobalMaxPool1D"]


def serialize(layer) -> dict:
    """``keras.layers.serialize``: ``{"module", "class_name", "config", ...}`` for a layer."""
    # NOTE: the registry lives in saving (level 8), imported only when called.
    from neuropil.saving.registry import serialize_keras_object
    return serialize_keras_object(layer)


def deserialize(config, custom_objects=None):
    """``keras.layers.deserialize``: the layer that ``serialize`` described."""
    from neuropil.saving.registry import deserialize_keras_object
    return deserialize_keras_object(config, custom_objects=custom_objects)


__all__ += ["serialize", "deserialize"]
