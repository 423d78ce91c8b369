"""CSVLogger: one CSV row per epoch."""
from __future__ import annotations

import collections.abc
import csv
import os

import numpy as np

from neuropil.callbacks.callback import Callback

__all__ = ["CSVLogger"]


def _cell(value):
    """Strings and numbers as they are; a list or array as "[a, b, c]" in one cell."""
    if isinstance(value, str):
        return value
    if isinstance(value, collections.abc.Iterable) and not (isinstance(value, np.ndarray)
                                                            and value.ndim == 0):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class CSVLogger(Callback):
    """Writes each epoch's logs to a CSV file as training goes (flushed every epoch).

    The columns are ``epoch`` (counted from 0) and then the logs keys of the first epoch,
    sorted; if that epoch has no ``val_*`` keys, a ``val_`` column is added for each key
    (filled with ``NA`` until validation runs), as Keras does.

    Args:
        filename: the CSV file, e.g. ``"run/log.csv"``.
        separator: the column separator (default ``","``).
        append: add to an existing file (the header is written only if the file is empty),
            e.g. when continuing training; otherwise the file is overwritten.

    Example:
    >>> model.fit(x, y, epochs=5, callbacks=[keras.callbacks.CSVLogger("training.log")])
    """

    # In data-parallel training only rank 0 keeps this callback (one writer per file).
    writes_files = True

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if self.append and os.path.exists(self.filename):
            with open(self.filename, encoding="utf-8") as f:
                self.append_header = not f.readline()
        else:
            self.append_header = True
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        # newline="" lets the csv module write its own "\r\n" row ends, as Keras's files have
        self.csv_file = open(self.filename, "a" if self.append else "w", newline="",
                             encoding="utf-8")
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(key.startswith("val_") for key in self.keys):
                self.keys += [f"val_{key}" for key in self.keys]
        if self.writer is None:
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         delimiter=self.sep)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, _cell(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None
