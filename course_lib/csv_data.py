"""Your own data: a CSV file of numeric features and a class column, checked before use.

``load_csv(path, target=...)`` reads a plain CSV (a header row of column names, then one row
per example) into the arrays the rest of the course uses: ``x`` of shape (n, features) and
integer class labels ``y`` of shape (n,), ready for ``course_lib.data.train_val_test_split``
and ``course_lib.data.Standardizer``. The file is read whole and checked before anything is
returned: a bad file raises one clear error naming the file, the row and the column, and
never gives half a data set.

``load_wine()`` reads the UCI Wine data shipped in ``course_lib/datasets/wine.csv``
(178 wines, 13 features, 3 cultivars; source and licence in ``datasets/wine.md``).
"""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = ["CsvData", "WINE_PATH", "load_csv", "load_wine"]

WINE_PATH = Path(__file__).resolve().parent / "datasets" / "wine.csv"
"""The shipped Wine file: 13 numeric feature columns and ``cultivar`` (0, 1 or 2)."""


class CsvData(NamedTuple):
    """A loaded CSV: ``x`` (n, features), ``y`` (n,) labels 0..C-1, the names of the feature
    columns, and ``classes``: the target value of each label (``classes[y[i]]`` is row i's)."""

    x: np.ndarray
    y: np.ndarray
    feature_names: tuple
    classes: tuple


def _number(text):
    """The float written in ``text``, or None if it is not a finite number."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _class_value(text):
    """A target value: an integer if the text is one (``"2"`` and ``"2.0"`` are both 2), else
    the text itself (class names such as ``"setosa"``)."""
    value = _number(text)
    if value is not None and value == int(value):
        return int(value)
    return text


def load_csv(path, target="class", *, delimiter=",", dtype=np.float32):
    """Load a CSV of numeric features and one target column of class labels.

    Parameters
    ----------
    path : str or Path
        The file. Its first row names the columns; every other non-blank row is an example.
    target : str
        The name of the column that holds the classes (integers or names). Every other
        column is a feature and must hold a number in every row.
    delimiter : str
        The character between fields ("," by default; ";" or "\\t" for other exports).
    dtype : floating dtype of ``x`` (float32 by default, like the models' weights).

    Returns
    -------
    CsvData
        ``(x, y, feature_names, classes)``: ``x`` of shape (n, features), ``y`` int64 of
        shape (n,) with values 0..C-1 (the sorted distinct target values, in ``classes``).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        The file is empty or has no data row; the target column is missing (the message
        lists the columns there are); a row has more or fewer fields than the header; a
        feature value is not a number or is missing, or the target is missing (the message
        names the line and the column); the target has a single class.
    """
    path = Path(path)
    if not isinstance(target, str) or not target:
        raise TypeError(f"target must be the name of a column (a non-empty string); got {target!r}.")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ValueError(f"delimiter must be a single character; got {delimiter!r}.")
    if not np.issubdtype(np.dtype(dtype), np.floating):
        raise TypeError(f"dtype must be a floating dtype; got {dtype!r}.")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file.")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = [(line, row) for line, row in enumerate(csv.reader(handle, delimiter=delimiter), 1)
                if any(field.strip() for field in row)]
    if not rows:
        raise ValueError(f"{path}: the file is empty (a header row of column names is needed).")
    _, header = rows[0]
    header = [name.strip() for name in header]
    if target not in header:
        raise ValueError(f"{path}: no column named {target!r} for the target; the columns are "
                         f"{', '.join(repr(name) for name in header)}.")
    if len(set(header)) != len(header):
        repeated = sorted({name for name in header if header.count(name) > 1})
        raise ValueError(f"{path}: column names must be distinct; repeated: {', '.join(repeated)}.")
    if len(rows) == 1:
        raise ValueError(f"{path}: the file has a header but no data rows.")
    target_column = header.index(target)
    feature_columns = [i for i in range(len(header)) if i != target_column]
    if not feature_columns:
        raise ValueError(f"{path}: the file has only the target column {target!r}; "
                         "at least one feature column is needed.")

    features, labels = [], []
    for line, row in rows[1:]:
        if len(row) != len(header):
            raise ValueError(f"{path}, line {line}: {len(row)} fields, but the header has "
                             f"{len(header)} columns (a ragged row).")
        values = []
        for i in feature_columns:
            value = _number(row[i].strip())
            if value is None:
                problem = "a missing value" if not row[i].strip() else f"{row[i].strip()!r} is not a number"
                raise ValueError(f"{path}, line {line}, column {header[i]!r}: {problem}.")
            values.append(value)
        label = row[target_column].strip()
        if not label:
            raise ValueError(f"{path}, line {line}, column {target!r}: a missing target value.")
        features.append(values)
        labels.append(_class_value(label))

    kinds = {isinstance(label, int) for label in labels}
    if len(kinds) > 1:
        example = next(label for label in labels if isinstance(label, str))
        raise ValueError(f"{path}, column {target!r}: mixes numbers and names (e.g. {example!r}); "
                         "class labels must be all integers or all names.")
    classes = tuple(sorted(set(labels)))
    if len(classes) < 2:
        raise ValueError(f"{path}, column {target!r}: every row has the class {classes[0]!r}; "
                         "a classifier needs at least two classes.")
    index = {value: k for k, value in enumerate(classes)}
    x = np.array(features, dtype=dtype)
    y = np.array([index[label] for label in labels], dtype=np.int64)
    return CsvData(x, y, tuple(header[i] for i in feature_columns), classes)


def load_wine():
    """The UCI Wine data shipped with the course: ``load_csv(WINE_PATH, target="cultivar")``.

    Returns a :class:`CsvData` with ``x`` float32 (178, 13) in the features' own units and
    ``y`` in 0..2 (59, 71 and 48 wines).
    """
    return load_csv(WINE_PATH, target="cultivar")
