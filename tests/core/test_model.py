"""Sequential: training works, is deterministic, diverges cleanly, saves atomically."""
import os

import numpy as np
import pytest

from course_lib.callbacks import Callback
from course_lib.data import make_blobs
from course_lib.layers import BatchNormalization, Dense, Dropout
from course_lib.model import Sequential, TrainingDiverged
from course_lib.optimizers import SGD, Adam


def blobs(seed=0, n=240):
    x, y = make_blobs(n_samples=n, n_classes=3, seed=seed)
    return x.astype(np.float32), y


def small_model(seed=0, **kw):
    model = Sequential([Dense(16, activation="relu"), Dropout(0.1), Dense(3, activation="softmax")],
                       seed=seed, **kw)
    model.compile(Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_fit_learns_blobs_and_logs_every_epoch():
    x, y = blobs()
    model = small_model()
    history = model.fit(x, y, epochs=15, batch_size=16, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    assert all(len(v) == 15 for v in history.history.values())
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert model.evaluate(x, y)["accuracy"] > 0.9


def test_same_seed_gives_bit_identical_weights_and_history():
    x, y = blobs()
    runs = []
    for _ in range(2):
        model = small_model(seed=7)
        history = model.fit(x, y, epochs=4, batch_size=32, validation_split=0.2, verbose=0)
        runs.append((model.get_weights(), history.history))
    (w1, h1), (w2, h2) = runs
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2))
    assert h1 == h2
    other = small_model(seed=8)
    other.fit(x, y, epochs=4, batch_size=32, validation_split=0.2, verbose=0)
    assert not np.array_equal(other.get_weights()[0], w1[0])


def test_fused_softmax_gradient_equals_unfused_backprop():
    # The fused output gradient (y_hat - y) must give the same weight gradients as the
    # chain rule through the softmax Jacobian.
    x, y = blobs(n=32)
    x = x.astype(np.float64)
    grads = []
    for fuse in (True, False):
        model = Sequential([Dense(8, activation="tanh"), Dense(3, activation="softmax")],
                           seed=1, dtype="float64")
        model.compile(SGD(0.1), "sparse_categorical_crossentropy").build(x.shape[1])
        y_pred = model.forward(x, training=True)
        if fuse:
            assert model.fused_output
            _, grad = model.loss_and_gradient(y, y_pred)
            model.backward(grad)
        else:  # the plain chain rule, through the softmax Jacobian
            grad = model.loss.gradient(y, y_pred)
            for layer in reversed(model.layers):
                grad = layer.backward(grad)
        grads.append([g.copy() for g in model.grads])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_divergence_raises_clear_error_and_restores_finite_weights():
    x, y = blobs()
    model = Sequential([Dense(32, activation="relu"), Dense(3, activation="softmax")], seed=0)
    model.compile(SGD(1e4, momentum=0.9), "sparse_categorical_crossentropy")
    with pytest.raises(TrainingDiverged, match="learning rate"):
        model.fit(x, y, epochs=20, verbose=0)
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_divergence_stop_mode_keeps_history_finite():
    x, y = blobs()
    model = Sequential([Dense(32, activation="relu"), Dense(3, activation="softmax")], seed=0)
    model.compile(SGD(1e4, momentum=0.9), "sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=20, verbose=0, on_divergence="stop")
    assert history.diverged_at is not None
    assert all(np.isfinite(v).all() for v in history.history.values())
    assert len(history.epoch) < 20


def test_callback_events_fire_in_order():
    events = []

    class Recorder(Callback):
        def on_train_begin(self, logs=None):
            events.append("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            events.append(f"epoch_begin {epoch}")

        def on_batch_end(self, batch, logs=None):
            events.append("batch")

        def on_epoch_end(self, epoch, logs=None):
            events.append(f"epoch_end {epoch}")

        def on_train_end(self, logs=None):
            events.append("train_end")

    x, y = blobs(n=64)
    small_model().fit(x, y, epochs=2, batch_size=32, callbacks=[Recorder()], verbose=0)
    assert events == ["train_begin", "epoch_begin 0", "batch", "batch", "epoch_end 0",
                      "epoch_begin 1", "batch", "batch", "epoch_end 1", "train_end"]


def test_save_load_round_trip_is_exact(tmp_path):
    x, y = blobs()
    model = Sequential([Dense(16), BatchNormalization(), Dense(3, activation="softmax")], seed=3)
    model.compile(Adam(0.01), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = Sequential.load(path)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), loaded.get_weights()))
    np.testing.assert_array_equal(model.predict(x), loaded.predict(x))


def test_save_is_atomic_when_the_write_fails(tmp_path, monkeypatch):
    x, y = blobs()
    model = small_model()
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "model.npz"
    model.save(path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    model.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_truncated_and_foreign_files_give_clear_errors(tmp_path):
    x, y = blobs()
    model = small_model()
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "model.npz"
    model.save(path)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[: os.path.getsize(path) // 2])
    with pytest.raises(ValueError, match="not a readable course_lib model file"):
        Sequential.load(truncated)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.arange(3))
    with pytest.raises(ValueError, match="no 'config' entry"):
        Sequential.load(foreign)
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a readable"):
        Sequential.load(text)


def test_bad_arguments_name_parameter_and_value():
    x, y = blobs(n=40)
    model = small_model()
    with pytest.raises(ValueError, match=r"epochs must be .*got 0"):
        model.fit(x, y, epochs=0, verbose=0)
    with pytest.raises(ValueError, match=r"batch_size must be .*got -1"):
        model.fit(x, y, batch_size=-1, verbose=0)
    with pytest.raises(ValueError, match=r"validation_split must be .*got 1.5"):
        model.fit(x, y, validation_split=1.5, verbose=0)
    with pytest.raises(ValueError, match="same number of examples"):
        model.fit(x, y[:-1], verbose=0)
    model.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"must have 2 features .* got shape \(40, 5\)"):
        model.predict(np.zeros((40, 5)))
    with pytest.raises(ValueError, match=r"class indices in \[0, 2\].*got 7"):
        model.fit(x, np.full(len(x), 7), verbose=0)
    with pytest.raises(TypeError, match="layers\\[0\\]"):
        Sequential(["dense"])
    with pytest.raises(ValueError, match="weights must hold"):
        model.set_weights([])
