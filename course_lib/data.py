"""Datasets for the course: the shipped digits, small synthetic problems, splitting and scaling.

* ``load_digits`` reads the 8x8 handwritten digits shipped in ``course_lib/datasets``
  (1,797 images, 10 classes; source and licence in ``datasets/README.md``).
* ``make_moons``, ``make_spirals``, ``make_blobs`` draw 2-D classification problems small
  enough to plot a decision boundary; ``make_regression_1d`` draws noisy samples of the
  smooth function ``true_function``, optionally leaving a gap with no data.
* ``train_val_test_split`` shuffles the *indices* of the examples once and cuts the
  permutation into three parts, so ``x`` and ``y`` stay aligned and no example lands in
  two parts.
* ``Standardizer`` learns a mean and a scale per feature from the training split only and
  applies them to every split.
* ``digits_splits`` is the one split of the digits that every notebook uses.
* ``load_csv`` reads your own CSV of numeric features and a class column, and ``load_wine``
  the UCI Wine data shipped with the course (both defined in ``course_lib.csv_data``).

Every random draw comes from the ``seed`` argument (``None``, an integer or a
``numpy.random.Generator``); nothing touches NumPy's global random state.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import NamedTuple

import numpy as np

from course_lib._validation import (
    check_array,
    check_fraction,
    check_number,
    check_positive,
    check_same_length,
    check_seed,
)

from course_lib.csv_data import CsvData, WINE_PATH, load_csv, load_wine  # re-exported, as below

from course_lib.synthetic import (  # noqa: E402  (re-exported: the course's data in one place)
    make_blobs,
    make_moons,
    make_regression_1d,
    make_spirals,
    true_function,
)

__all__ = [
    "CsvData",
    "DIGITS_PATH",
    "DIGITS_SPLIT_FRACTIONS",
    "Split",
    "Standardizer",
    "digits_splits",
    "load_csv",
    "load_digits",
    "load_wine",
    "make_blobs",
    "make_moons",
    "make_regression_1d",
    "make_spirals",
    "one_hot",
    "train_val_test_split",
    "true_function",
    "WINE_PATH",
]

DIGITS_PATH = Path(__file__).resolve().parent / "datasets" / "digits.npz"
"""The shipped file: ``images`` uint8 (1797, 8, 8) with values 0..16, ``target`` uint8 (1797,)."""

_DIGITS_MAX_PIXEL = 16  # each pixel counts the "on" pixels of a 4x4 block of the original 32x32 bitmap


# --------------------------------------------------------------------------- digits

@functools.lru_cache(maxsize=1)
def _read_digits_file():
    with np.load(DIGITS_PATH) as archive:
        images, target = archive["images"], archive["target"]
    images.setflags(write=False)  # cached: callers get fresh arrays computed from these
    target.setflags(write=False)
    return images, target


def load_digits(return_images=False):
    """Load the UCI handwritten digits (1,797 examples, 10 classes, about 180 per class).

    Parameters
    ----------
    return_images : bool
        Also return the examples as 8x8 images (for plotting).

    Returns
    -------
    x : float32 array, shape (1797, 64)
        Pixels in row-major order, scaled from 0..16 to [0, 1] by dividing by 16.
    y : int64 array, shape (1797,)
        The digit shown, 0..9.
    images : float32 array, shape (1797, 8, 8), only if ``return_images``
        The same pixels as ``x`` (same [0, 1] scale), as images: ``images.reshape(-1, 64)``
        equals ``x``.
    """
    if not isinstance(return_images, (bool, np.bool_)):
        raise TypeError(f"return_images must be True or False; got {return_images!r}.")
    raw_images, raw_target = _read_digits_file()
    images = raw_images.astype(np.float32) / np.float32(_DIGITS_MAX_PIXEL)
    x = images.reshape(len(images), -1).copy()
    y = raw_target.astype(np.int64)
    if return_images:
        return x, y, images
    return x, y


# --------------------------------------------------------------------------- splitting

class Split(NamedTuple):
    """Three aligned parts of a dataset; unpacks as ``x_train, y_train, x_val, y_val, x_test, y_test``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def _proportional_counts(available, total):
    """Share ``total`` between groups in proportion to ``available`` (largest remainder).

    Each group gets the floor of its exact share; the leftover units go to the groups with
    the largest fractional parts (ties to the first). Never exceeds ``available``.
    """
    exact = available * (total / available.sum())
    counts = np.floor(exact).astype(np.int64)
    leftover = total - counts.sum()
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:leftover]] += 1
    return counts


def train_val_test_split(x, y, val_fraction=0.15, test_fraction=0.15, seed=None,
                         stratify=False):
    """Split examples into training, validation and test parts by shuffled indices.

    The indices ``0..n-1`` are permuted once and cut into three parts, so every example
    lands in exactly one part and ``x[i]`` stays with ``y[i]``. The validation and test
    parts get ``round(n * fraction)`` examples each; the training part gets the rest.
    With ``stratify=True`` the same sizes are shared between classes in proportion to the
    class sizes (each class's count is within one example of its exact share), so every
    part has the class proportions of the whole. Each part is in random order.

    Parameters
    ----------
    x : array, shape (n, ...)
    y : array, shape (n, ...); for ``stratify=True``, labels of shape (n,) or (n, 1)
    val_fraction, test_fraction : float in [0, 1), with a sum below 1
    seed : None, int >= 0 or numpy.random.Generator
    stratify : bool

    Returns
    -------
    Split
        ``(x_train, y_train, x_val, y_val, x_test, y_test)``, each indexing the inputs'
        first axis (copies, not views).
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"x and y must have an examples axis; got shapes {x.shape} and {y.shape}.")
    check_same_length("x", x, "y", y)
    val_fraction = check_fraction("val_fraction", val_fraction)
    test_fraction = check_fraction("test_fraction", test_fraction)
    if val_fraction + test_fraction >= 1.0:
        raise ValueError("val_fraction + test_fraction must be below 1 to leave training data; "
                         f"got {val_fraction!r} + {test_fraction!r}.")
    if not isinstance(stratify, (bool, np.bool_)):
        raise TypeError(f"stratify must be True or False; got {stratify!r}.")
    rng = check_seed("seed", seed)

    n = len(x)
    n_val = int(round(n * val_fraction))
    n_test = int(round(n * test_fraction))
    if n - n_val - n_test < 1:
        raise ValueError(f"with {n} examples, val_fraction={val_fraction!r} and "
                         f"test_fraction={test_fraction!r} leave no training example.")

    if not stratify:
        order = rng.permutation(n)
        test_idx, val_idx, train_idx = np.split(order, [n_test, n_test + n_val])
    else:
        if not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
            raise ValueError(f"stratify=True needs class labels y of shape (n,) or (n, 1); got shape {y.shape}.")
        _, label_index = np.unique(y.reshape(-1), return_inverse=True)
        members = [rng.permutation(np.flatnonzero(label_index == k))
                   for k in range(label_index.max() + 1)]
        class_sizes = np.array([len(m) for m in members])
        test_counts = _proportional_counts(class_sizes, n_test)
        val_counts = _proportional_counts(class_sizes - test_counts, n_val)
        parts = [[], [], []]
        for idx, n_t, n_v in zip(members, test_counts, val_counts):
            for part, chunk in zip(parts, np.split(idx, [n_t, n_t + n_v])):
                part.append(chunk)
        test_idx, val_idx, train_idx = (rng.permutation(np.concatenate(p)) for p in parts)

    return Split(x[train_idx], y[train_idx], x[val_idx], y[val_idx], x[test_idx], y[test_idx])


# --------------------------------------------------------------------------- scaling

class Standardizer:
    """Per-feature standardization: ``(x - mean) / scale``, learned from training data only.

    ``fit(x_train)`` stores ``mean_`` and ``scale_`` (the population standard deviation,
    ``ddof=0``), each of shape (n_features,). ``transform`` applies them to any split, so
    validation and test data are scaled with the training statistics (their own mean and
    standard deviation never leak in, and are not exactly 0 and 1).

    A feature that is constant in the training data (every value equal, zero variance) gets
    ``scale_ = 1``: it is only centred (it becomes 0 on the training data) instead of being
    divided by zero. The digits have such features (corner pixels that are always blank).

    Floating inputs keep their dtype (float32 stays float32); others become float64.
    """

    def __init__(self):
        self.mean_ = None
        self.scale_ = None

    @property
    def fitted(self):
        """Whether ``fit`` has been called."""
        return self.mean_ is not None

    def fit(self, x_train):
        """Learn the mean and scale of each column of ``x_train`` (shape (n, n_features), n >= 1)."""
        x_train = check_array("x_train", x_train, ndim=2, dtype=np.float64)
        if len(x_train) == 0:
            raise ValueError("x_train must contain at least one example; got shape "
                             f"{x_train.shape}.")
        self.mean_ = x_train.mean(axis=0)
        constant = x_train.max(axis=0) == x_train.min(axis=0)
        self.scale_ = np.where(constant, 1.0, x_train.std(axis=0))
        return self

    def _check_input(self, name, x):
        if not self.fitted:
            raise RuntimeError("This Standardizer is not fitted yet: call fit(x_train) with "
                               "the training data before transform or inverse_transform.")
        x = np.asarray(x)
        dtype = x.dtype if x.dtype.kind == "f" else np.float64
        x = check_array(name, x, ndim=2, dtype=dtype)
        if x.shape[1] != self.mean_.shape[0]:
            raise ValueError(f"{name} must have {self.mean_.shape[0]} features (as in fit); "
                             f"got shape {x.shape}.")
        return x

    def transform(self, x):
        """Return ``(x - mean_) / scale_``, shape (n, n_features), in x's floating dtype."""
        x = self._check_input("x", x)
        return ((x - self.mean_) / self.scale_).astype(x.dtype, copy=False)

    def fit_transform(self, x_train):
        """``fit(x_train)`` then ``transform(x_train)``."""
        return self.fit(x_train).transform(x_train)

    def inverse_transform(self, z):
        """Undo ``transform``: return ``z * scale_ + mean_``, shape (n, n_features)."""
        z = self._check_input("z", z)
        return (z * self.scale_ + self.mean_).astype(z.dtype, copy=False)

    def __repr__(self):
        state = f"n_features={self.mean_.shape[0]}" if self.fitted else "not fitted"
        return f"Standardizer({state})"


# --------------------------------------------------------------------------- labels

def one_hot(y, num_classes=None, dtype=np.float32):
    """One-hot encode integer class labels (the targets of categorical cross-entropy).

    Parameters
    ----------
    y : integer labels, shape (n,) or (n, 1), values in 0..num_classes-1
    num_classes : int >= 1, or None for ``max(y) + 1``
    dtype : dtype of the result (float32 by default, like the models' weights)

    Returns
    -------
    array, shape (n, num_classes)
        Row ``i`` is all zeros except a one in column ``y[i]``.
    """
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(f"y must be labels of shape (n,) or (n, 1); got shape {labels.shape}.")
    if labels.dtype.kind not in "iub":
        as_float = check_array("y", labels, ndim=1, dtype=np.float64)
        if not np.all(as_float == np.round(as_float)):
            raise ValueError("y must contain integer class labels; got non-integer values "
                             f"such as {as_float[as_float != np.round(as_float)][0]!r}.")
        labels = as_float
    labels = labels.astype(np.int64)
    if num_classes is None:
        if len(labels) == 0:
            raise ValueError("num_classes must be given when y is empty.")
        num_classes = int(labels.max()) + 1
    num_classes = check_positive("num_classes", num_classes, integer=True)
    outside = (labels < 0) | (labels >= num_classes)
    if np.any(outside):
        raise ValueError(f"y must contain labels in 0..{num_classes - 1} (num_classes={num_classes}); "
                         f"got {labels[outside][0]}.")
    encoded = np.zeros((len(labels), num_classes), dtype=dtype)
    encoded[np.arange(len(labels)), labels] = 1
    return encoded


# --------------------------------------------------------------------------- the course split

DIGITS_SPLIT_FRACTIONS = (0.70, 0.15, 0.15)
"""Training, validation and test fractions of the course's digits split."""


def digits_splits(seed=0, n_train=None, standardize=True):
    """The course's standard split of the digits: 70/15/15, stratified, seed 0.

    Every notebook calls ``digits_splits()`` and gets the same 1,257 / 270 / 270 examples.

    Parameters
    ----------
    seed : None, int >= 0 or numpy.random.Generator
        Seed of the split; keep the default to get the course's split.
    n_train : None or int in 1..1257
        Keep only the first ``n_train`` training examples (a random sample, since the
        training part is shuffled; smaller slices are prefixes of larger ones), for
        demonstrations of overfitting a small training set. Validation and test parts
        are unchanged.
    standardize : bool
        Standardize the pixels with a ``Standardizer`` fitted on the full training part
        (all 1,257 examples, whatever ``n_train``), so the validation and test inputs are
        the same for every ``n_train``. With ``False``, pixels stay in [0, 1].

    Returns
    -------
    Split
        ``x_*`` float32 of shape (m, 64), ``y_*`` int64 of shape (m,).
    """
    if not isinstance(standardize, (bool, np.bool_)):
        raise TypeError(f"standardize must be True or False; got {standardize!r}.")
    x, y = load_digits()
    _, val_fraction, test_fraction = DIGITS_SPLIT_FRACTIONS
    split = train_val_test_split(x, y, val_fraction=val_fraction, test_fraction=test_fraction,
                                 seed=seed, stratify=True)
    if standardize:
        scaler = Standardizer().fit(split.x_train)
        split = Split(scaler.transform(split.x_train), split.y_train,
                      scaler.transform(split.x_val), split.y_val,
                      scaler.transform(split.x_test), split.y_test)
    if n_train is not None:
        n_train = check_number("n_train", n_train, low=1, high=len(split.x_train), integer=True)
        split = split._replace(x_train=split.x_train[:n_train], y_train=split.y_train[:n_train])
    return split
