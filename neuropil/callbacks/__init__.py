"""``keras.callbacks``: hooks into training."""
from neuropil.callbacks.backup_and_restore import BackupAndRestore
from neuropil.callbacks.callback import Callback
from neuropil.callbacks.callback_list import CallbackList
from neuropil.callbacks.csv_logger import CSVLogger
from neuropil.callbacks.early_stopping import EarlyStopping
from neuropil.callbacks.history import History
from neuropil.callbacks.lambda_callback import LambdaCallback
from neuropil.callbacks.learning_rate_scheduler import LearningRateScheduler
from neuropil.callbacks.model_checkpoint import ModelCheckpoint
from neuropil.callbacks.progbar_logger import ProgbarLogger
from neuropil.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from neuropil.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping",
           "ModelCheckpoint", "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger",
           "TerminateOnNaN", "LambdaCallback", "BackupAndRestore"]
