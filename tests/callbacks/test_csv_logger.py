"""CSVLogger: Keras's columns and rows, append mode, and the file closed at the end."""
import csv

import pytest

from neuropil.callbacks import CSVLogger


def read_rows(path, separator=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=separator))


def test_epoch_then_sorted_keys_one_row_per_epoch(make_model, data, tmp_path):
    x, y = data
    path = tmp_path / "log.csv"
    logger = CSVLogger(path)
    history = make_model().fit(x, y, epochs=3, validation_data=(x, y), verbose=0,
                               callbacks=[logger])
    rows = read_rows(path)
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [row[0] for row in rows[1:]] == ["0", "1", "2"]
    for i, row in enumerate(rows[1:]):
        assert [float(v) for v in row[1:]] == pytest.approx(
            [history.history[k][i] for k in rows[0][1:]])
    assert path.read_bytes().count(b"\r\n") == 4  # the csv module's row ends, as in Keras
    assert logger.csv_file.closed


def test_val_columns_are_added_when_the_first_epoch_has_none(make_model, data, tmp_path):
    x, y = data
    path = tmp_path / "log.csv"
    make_model(metrics=()).fit(x, y, epochs=2, verbose=0, callbacks=[CSVLogger(path)])
    rows = read_rows(path)
    assert rows[0] == ["epoch", "loss", "val_loss"]
    assert [row[2] for row in rows[1:]] == ["NA", "NA"]


def test_append_writes_the_header_once(make_model, data, tmp_path):
    x, y = data
    path = tmp_path / "log.csv"
    model = make_model(metrics=())
    logger = CSVLogger(path, separator=";", append=True)
    model.fit(x, y, epochs=2, validation_data=(x, y), verbose=0, callbacks=[logger])
    model.fit(x, y, epochs=4, initial_epoch=2, validation_data=(x, y), verbose=0,
              callbacks=[logger])
    rows = read_rows(path, ";")
    assert rows[0] == ["epoch", "loss", "val_loss"]
    assert [row[0] for row in rows[1:]] == ["0", "1", "2", "3"]


def test_without_append_the_file_is_overwritten(make_model, data, tmp_path):
    x, y = data
    path = tmp_path / "log.csv"
    path.write_text("old contents\n")
    make_model().fit(x, y, epochs=1, verbose=0, callbacks=[CSVLogger(path)])
    assert read_rows(path)[0][0] == "epoch" and len(read_rows(path)) == 2
