"""The challenge of the capstone: reach a validation target on the digits within a time budget.

The learner writes ``build_and_train(x_train, y_train, x_val, y_val, seed)`` that returns a
trained model (anything with ``predict(x) -> probabilities (n, 10)``). :func:`check_challenge`
calls it on the course's training and validation digits, times it, and scores the model on
the test digits, which the function never sees; the answer says how far from the target the
accuracy is and whether the time budget held, never how to reach it.
"""
from __future__ import annotations

import time

import numpy as np

from ...callbacks import EarlyStopping
from ...layers import Dense
from ...model import Sequential
from ...optimizers import SGD, Nadam
from ...schedules import OneCycle
from ..digits import digits
from ..exercise import CheckResult

#: Test accuracy to reach, and the wall-clock seconds ``build_and_train`` may take.
TARGET_ACCURACY = 0.94
TIME_BUDGET_SECONDS = 10.0
TITLE = "build_and_train(x_train, y_train, x_val, y_val, seed)"


def starter_build_and_train(x_train, y_train, x_val, y_val, seed):
    """A first attempt to improve: a narrow network, plain SGD, a tiny rate, 3 epochs."""
    model = Sequential([Dense(16, activation="relu"), Dense(10, activation="softmax")], seed=seed)
    model.compile(SGD(learning_rate=0.001), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=3, batch_size=32, validation_data=(x_val, y_val), verbose=0)
    return model


def build_and_train_reference(x_train, y_train, x_val, y_val, seed):
    """The default recipe for a shallow network: He init, ELU, Nadam with 1cycle, early stopping
    (one hidden layer: no batch normalization needed)."""
    epochs, batch_size = 20, 32
    steps = epochs * int(np.ceil(len(x_train) / batch_size))
    model = Sequential([
        Dense(256, activation="elu", kernel_initializer="he_normal"),
        Dense(10, activation="softmax"),
    ], seed=seed)
    model.compile(Nadam(OneCycle(max_learning_rate=0.01, total_steps=steps)),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    stop = EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
    model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size,
              validation_data=(x_val, y_val), callbacks=[stop], verbose=0)
    return model


def score_challenge(fn, seed=0):
    """Run ``fn`` on the course's training and validation digits and score it on the test
    digits. Returns ``(accuracy, seconds)``; raises what ``fn`` raises."""
    split = digits()
    args = [np.array(a) for a in (split.x_train, split.y_train, split.x_val, split.y_val)]
    start = time.perf_counter()
    model = fn(*args, seed)
    seconds = time.perf_counter() - start
    if not hasattr(model, "predict"):
        raise TypeError(f"build_and_train must return the trained model (with a predict "
                        f"method); it returned {type(model).__name__}.")
    with np.errstate(over="ignore", invalid="ignore"):
        probabilities = np.asarray(model.predict(np.array(split.x_test)))
    if probabilities.shape != (len(split.x_test), 10):
        raise ValueError(f"the model's predict must give probabilities of shape "
                         f"({len(split.x_test)}, 10) for {len(split.x_test)} examples; "
                         f"got shape {probabilities.shape}.")
    accuracy = float(np.mean(np.argmax(probabilities, axis=1) == split.y_test))
    return accuracy, seconds


def check_challenge(fn, seed=0):
    """The verdict on a learner's ``build_and_train``: a :class:`CheckResult` whose message
    gives the test accuracy, its distance to :data:`TARGET_ACCURACY` and the time taken."""
    try:
        accuracy, seconds = score_challenge(fn, seed)
    except NotImplementedError:
        return CheckResult(TITLE, False, "not implemented yet: replace the `raise "
                                         "NotImplementedError` with code that builds a model, "
                                         "compiles it, fits it and returns it.")
    except Exception as err:  # the learner's code: report it, do not crash the notebook
        return CheckResult(TITLE, False, f"it raised {type(err).__name__}: {err}")
    in_time = seconds <= TIME_BUDGET_SECONDS
    reached = accuracy >= TARGET_ACCURACY
    timing = (f"it took {seconds:.1f} s of the {TIME_BUDGET_SECONDS:.0f} s budget"
              if in_time else
              f"it took {seconds:.1f} s, {seconds - TIME_BUDGET_SECONDS:.1f} s over the "
              f"{TIME_BUDGET_SECONDS:.0f} s budget")
    if reached and in_time:
        return CheckResult(TITLE, True, f"test accuracy {accuracy:.1%} on digits it never saw, "
                                        f"target {TARGET_ACCURACY:.0%} reached; {timing}.")
    if reached:
        return CheckResult(TITLE, False, f"test accuracy {accuracy:.1%} reaches the target, but "
                                         f"{timing}: train less or a smaller network.")
    return CheckResult(TITLE, False, f"test accuracy {accuracy:.1%} on digits it never saw: "
                                     f"{(TARGET_ACCURACY - accuracy) * 100:.1f} points below the "
                                     f"{TARGET_ACCURACY:.0%} target; {timing}.")
