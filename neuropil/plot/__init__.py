"""Pictures for learners (optional extra: ``pip install "neuropil[plot]"``).

- ``history(*histories)``: loss and metrics per epoch, training and validation, across fits.
- ``filters(layer)``: a convolution's kernels as images.
- ``feature_maps(model, x, layer)``: what one layer outputs for one input.
- ``model(model)``: the layer graph, boxes and arrows.
- ``augmentations(layer, images)``: augmented versions of images, as training sees them.

Each returns the matplotlib ``Figure`` and, given ``path=``, writes it as a PNG. matplotlib
is imported on the first plot, not with ``neuropil``; without a display the Agg backend is
used.
"""
from neuropil.plot.curves import history
from neuropil.plot.graph import model
from neuropil.plot.images import augmentations, feature_maps, filters

__all__ = ["history", "filters", "feature_maps", "model", "augmentations"]
