"""``keras.applications``: ready-made architectures. LeNet-5 is the course's; ResNet-20 is
the CIFAR-10 network; ResNet-18/50 and VGG-16 follow torchvision's and Keras's layouts.

``weights=`` takes None, the path of a ``.weights.h5`` / ``.keras`` file, a name of weights
shipped with neuropil (``LeNet5(include_top=False, weights="mnist_0to4")``: a base trained
on MNIST digits 0-4, for transfer learning) or, for ResNet18, torchvision's weights as a
``.safetensors`` file (see pretrained.py and torchvision_weights.py)."""
from neuropil.applications.lenet5 import LeNet5
from neuropil.applications.resnet import ResNet18, ResNet20, ResNet50
from neuropil.applications.vgg import VGG16

__all__ = ["LeNet5", "ResNet20", "ResNet18", "ResNet50", "VGG16"]
