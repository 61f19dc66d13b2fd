"""Keras 3 on its NumPy backend, for the oracle tests (import this before anything else imports
keras, since the backend is chosen at keras's first import).

Keras is a test dependency: under CI (``CI=true``) a missing keras is an error, never a skip,
so the cross-checks cannot silently stop running.
"""
import os

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "numpy"
if os.environ.get("CI") == "true":
    import keras
else:
    keras = pytest.importorskip("keras", reason="keras (a test dependency) is not installed")

if keras.backend.backend() != "numpy":   # keras was imported earlier with another backend
    pytest.fail(f"keras must run on its numpy backend here; it runs on {keras.backend.backend()!r}.",
                pytrace=False)

#: Keras's numpy-backend variables warn on every read under NumPy 2 (not our concern).
IGNORE_COPY_WARNING = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


@pytest.fixture
def keras_in_float64(monkeypatch):
    """Keras's variables and arithmetic in float64, as ours are: the tight comparison, where
    any difference is one of equations, not of rounding."""
    from keras.src.backend.common import dtypes
    monkeypatch.setitem(dtypes.BIT64_TO_BIT32_DTYPE, "float64", "float64")
    before = keras.config.floatx()
    keras.config.set_floatx("float64")
    product = keras.ops.multiply(np.ones(2), np.ones(2))
    assert keras.backend.standardize_dtype(product.dtype) == "float64", \
        "keras still computes float64 inputs in float32; the comparison would not be tight"
    yield
    keras.config.set_floatx(before)


@pytest.fixture
def keras_in_float32():
    before = keras.config.floatx()
    keras.config.set_floatx("float32")
    yield
    keras.config.set_floatx(before)
