"""``keras.applications``: ready-made architectures. LeNet-5 is the course's."""
from neuropil.applications.lenet5 import LeNet5

__all__ = ["LeNet5"]
