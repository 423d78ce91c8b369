"""``keras.callbacks``: hooks into training."""
from neuropil.callbacks.callback import Callback, CallbackList
from neuropil.callbacks.history import History
from neuropil.callbacks.progbar_logger import ProgbarLogger

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger"]
