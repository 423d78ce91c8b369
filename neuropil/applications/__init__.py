"""``keras.applications``: ready-made architectures. LeNet-5 is the course's; ResNet-20 is
the CIFAR-10 network; ResNet-18/50 and VGG-16 follow torchvision's and Keras's layouts."""
from neuropil.applications.lenet5 import LeNet5
from neuropil.applications.resnet import ResNet18, ResNet20, ResNet50
from neuropil.applications.vgg import VGG16

__all__ = ["LeNet5", "ResNet20", "ResNet18", "ResNet50", "VGG16"]
