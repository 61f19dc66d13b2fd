"""The Keras contracts of the training core: freezing, weights assigned after build, callbacks
that always end, one backward signature, Keras 3's callbacks, splits and compile defaults,
and a public train_step that is the code fit runs."""
import copy
import inspect
import re

import numpy as np
import pytest

from course_lib import layers as layers_module
from course_lib.callbacks import Callback, LearningRateScheduler, ReduceLROnPlateau
from course_lib.data import make_blobs
from course_lib.layers import Activation, BatchNormalization, Dense, Layer
from course_lib.model import Sequential, TrainingDiverged
from course_lib.optimizers import SGD, Adam, RMSprop
from course_lib.schedules import ExponentialDecay


def blobs(n=96, seed=0):
    x, y = make_blobs(n_samples=n, n_classes=3, seed=seed)
    return x.astype(np.float32), y


def mlp(seed=0, optimizer=None, **first):
    model = Sequential([Dense(16, activation="relu", **first), Dense(3, activation="softmax")],
                       seed=seed)
    return model.compile(optimizer or Adam(0.01), "sparse_categorical_crossentropy")


# ============================================================================ 1. trainable

def test_a_frozen_dense_is_bit_identical_after_fit_even_with_optimizer_state():
    x, y = blobs()
    model = mlp()
    model.fit(x, y, epochs=2, verbose=0)  # Adam now holds momentum for every weight
    frozen = model.layers[0]
    before = [p.copy() for p in frozen.params]
    head_before = model.layers[1].kernel.copy()
    frozen.trainable = False  # after compile and between fits, without compiling again
    model.fit(x, y, epochs=2, verbose=0)
    for p, b in zip(frozen.params, before):
        np.testing.assert_array_equal(p, b)
    assert not np.array_equal(model.layers[1].kernel, head_before)
    assert [id(w) for w in model.trainable_weights] == [id(w) for w in model.layers[1].params]


def test_unfreezing_between_fits_takes_effect():
    x, y = blobs()
    model = mlp()
    model.layers[0].trainable = False
    model.fit(x, y, epochs=1, verbose=0)
    kernel = model.layers[0].kernel.copy()
    model.layers[0].trainable = True
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(model.layers[0].kernel, kernel)


def test_a_frozen_layer_keeps_weights_that_break_its_constraint():
    # Keras applies constraints with the optimizer's update: only to trainable weights.
    x, y = blobs()
    model = mlp(kernel_constraint="max_norm")
    model.build(x.shape[1])
    model.layers[0].kernel = model.layers[0].kernel * 50  # column norms far above 2
    model.layers[0].trainable = False
    kernel = model.layers[0].kernel.copy()
    model.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(model.layers[0].kernel, kernel)


def test_a_frozen_batch_normalization_runs_in_inference_mode():
    x, y = blobs()
    x = 3 * x + 1
    model = Sequential([Dense(8), BatchNormalization(), Dense(3, activation="softmax")], seed=0)
    model.compile(Adam(0.01), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)
    bn = model.layers[1]
    bn.trainable = False
    saved = [a.copy() for a in bn.params + bn.state]
    # In inference mode training=True changes nothing: same output as prediction.
    np.testing.assert_array_equal(model.predict(x, training=True), model.predict(x))
    model.fit(x, y, epochs=2, verbose=0)
    for array, before in zip(bn.params + bn.state, saved):
        np.testing.assert_array_equal(array, before)
    bn.trainable = True
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(bn.state[0], saved[2])  # batch statistics move again


def test_trainable_must_be_a_bool():
    with pytest.raises(TypeError, match="trainable must be True or False; got 'no'"):
        Dense(2).trainable = "no"


# ============================================================================ 2. assigned weights

@pytest.mark.parametrize("optimizer", [lambda: SGD(0.1), lambda: Adam(0.01)], ids=["SGD", "Adam"])
def test_a_weight_assigned_after_build_is_used_and_trained(optimizer):
    # Assigning through the attribute must train exactly like loading the same values.
    x, y = blobs()
    runs = []
    for assign in (True, False):
        model = Sequential([Dense(8, activation="tanh"), BatchNormalization(),
                            Dense(3, activation="softmax")], seed=2)
        model.compile(optimizer(), "sparse_categorical_crossentropy").build(x.shape[1])
        dense, bn = model.layers[0], model.layers[1]
        if assign:
            dense.kernel = dense.kernel * 2
            dense.bias = dense.bias + 0.5
            bn.gamma = bn.gamma * 3
            bn.beta = bn.beta - 1
        else:
            weights = model.get_weights()
            weights[0], weights[1] = weights[0] * 2, weights[1] + 0.5
            weights[2], weights[3] = weights[2] * 3, weights[3] - 1
            model.set_weights(weights)
        assigned = model.get_weights()
        z = x @ dense.kernel + dense.bias
        np.testing.assert_allclose(model.layers[0].forward(x), np.tanh(z), rtol=1e-6)
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        runs.append((assigned, model.get_weights()))
    (assigned_a, trained_a), (assigned_b, trained_b) = runs
    for a, b in zip(assigned_a + trained_a, assigned_b + trained_b):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(trained_a[0], assigned_a[0])  # the assigned kernel trained


def test_assigning_a_wrong_shape_names_the_weight_and_both_shapes():
    layer = Dense(3)
    layer.build(4, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"dense.kernel must keep its shape \(4, 3\); got an "
                                         r"array of shape \(3, 4\)"):
        layer.kernel = np.zeros((3, 4))
    with pytest.raises(AttributeError, match="before the layer is built"):
        Dense(3).kernel = np.zeros((4, 3))


def test_a_copied_model_trains_its_own_weights():
    x, y = blobs()
    model = mlp()
    model.fit(x, y, epochs=1, verbose=0)
    before = model.get_weights()
    twin = copy.deepcopy(model)
    twin.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(twin.layers[0].kernel, before[0])
    assert np.shares_memory(twin.layers[0].kernel, twin.theta)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


# ============================================================================ 3. callbacks end

class Ends(Callback):
    def __init__(self):
        self.ended = 0

    def on_train_end(self, logs=None):
        self.ended += 1


class RaisesAt(Callback):
    def __init__(self, hook, error):
        self.hook, self.error = hook, error

    def on_epoch_end(self, epoch, logs=None):
        if self.hook == "on_epoch_end":
            raise self.error

    def on_batch_end(self, batch, logs=None):
        if self.hook == "on_batch_end":
            raise self.error


@pytest.mark.parametrize("hook, error", [("on_epoch_end", RuntimeError("callback failed")),
                                         ("on_batch_end", KeyboardInterrupt())])
def test_on_train_end_runs_when_a_callback_raises_or_training_is_interrupted(hook, error):
    x, y = blobs()
    ends = Ends()
    with pytest.raises(type(error)):
        mlp().fit(x, y, epochs=3, verbose=0, callbacks=[ends, RaisesAt(hook, error)])
    assert ends.ended == 1


def test_on_train_end_runs_when_training_diverges():
    x, y = blobs()
    ends = Ends()
    with pytest.raises(TrainingDiverged):
        mlp(optimizer=SGD(1e4, momentum=0.9)).fit(x, y, epochs=20, verbose=0, callbacks=[ends])
    assert ends.ended == 1
    stop = Ends()
    mlp(optimizer=SGD(1e4, momentum=0.9)).fit(x, y, epochs=20, verbose=0, callbacks=[stop],
                                              on_divergence="stop")
    assert stop.ended == 1


# ============================================================================ 4. one backward

def layer_classes():
    return [c for c in vars(layers_module).values()
            if isinstance(c, type) and issubclass(c, Layer)]


@pytest.mark.parametrize("cls", layer_classes(), ids=lambda c: c.__name__)
def test_every_layer_has_the_same_backward_signatures(cls):
    for method in (cls.backward, cls.pre_activation_backward):
        assert list(inspect.signature(method).parameters) in (["self", "grad_out"],
                                                               ["self", "grad_z"])


def test_the_model_treats_every_layer_alike():
    # A layer class the model has never heard of, ending the network with softmax, trains
    # with the fused gradient exactly as Dense(activation="softmax") does.
    class Linear(Layer):
        def __init__(self, units):
            super().__init__()
            self.units = units

        def build(self, input_dim, rng, dtype=np.float64):
            super().build(input_dim, rng, dtype)
            reference = Dense(self.units, seed=5)
            reference.build(input_dim, rng, dtype)
            self.kernel, self.bias = reference.kernel, reference.bias
            self.grad_kernel, self.grad_bias = np.zeros_like(self.kernel), np.zeros_like(self.bias)
            self.params, self.grads = [self.kernel, self.bias], [self.grad_kernel, self.grad_bias]
            self.param_names = ["kernel", "bias"]

        def output_dim(self, input_dim):
            return self.units

        def forward(self, x, training=False):
            self.x = self._prepare_input(x)
            self._output_shape = (len(x), self.units)
            return self.x @ self.kernel + self.bias

        def backward(self, grad_out):
            self.grad_kernel[...] = self.x.T @ grad_out
            self.grad_bias[...] = grad_out.sum(axis=0)
            return grad_out @ self.kernel.T

    x, y = blobs(n=32)
    x = x.astype(np.float64)
    grads = []
    for last in ([Dense(3, activation="softmax", seed=5)], [Linear(3), Activation("softmax")]):
        model = Sequential([Dense(6, activation="tanh", seed=4)] + last, dtype="float64")
        model.compile(SGD(0.1), "sparse_categorical_crossentropy").build(x.shape[1])
        for _ in range(3):
            model.train_on_batch(x, y)
        grads.append([g.copy() for g in model.grads + model.params])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_the_fused_output_gradient_stays_finite_for_confident_wrong_predictions():
    # p of the true class underflows to 0: the chain rule's -1/p would be clipped to 0 and
    # the network would stop learning; the fused (p - y) / batch keeps pushing.
    x = np.array([[1.0, 0.0]], dtype=np.float32)
    model = Sequential([Dense(2, activation="softmax", use_bias=False)], seed=0)
    model.compile(SGD(0.1), "sparse_categorical_crossentropy").build(2)
    model.layers[0].kernel = np.array([[200.0, -200.0], [0.0, 0.0]])
    model.train_on_batch(x, [1])
    np.testing.assert_allclose(model.layers[0].grad_kernel, [[1.0, -1.0], [0.0, 0.0]])


# ============================================================================ 5. Keras 3

def keras_test_model():
    # The setUp of keras/src/callbacks/reduce_lr_on_plateau_test.py (ReduceLROnPlateauTest):
    # 10 training and 10 test samples of 3 features, 2 one-hot classes, mse, Adam(0.1).
    rng = np.random.default_rng(0)
    x_train, x_test = rng.normal(size=(10, 3)), rng.normal(size=(10, 3))
    y_train, y_test = np.eye(2)[rng.integers(0, 2, 10)], np.eye(2)[rng.integers(0, 2, 10)]
    model = Sequential([Dense(5), Dense(2)], seed=0).compile(loss="mse", optimizer=Adam(0.1))
    return model, (x_train, y_train), (x_test, y_test)


@pytest.mark.parametrize("options, epochs, expected", [
    ({}, 2, 0.01),                    # ReduceLROnPlateauTest.test_reduces_lr_with_model_fit
    ({"min_delta": 10, "min_lr": 0.005}, 4, 0.005),  # ReduceLROnPlateauTest.test_honors_min_lr
    ({"cooldown": 2}, 4, 0.001),      # ReduceLROnPlateauTest.test_cooldown
])
def test_reduce_lr_on_plateau_as_keras_own_tests(options, epochs, expected):
    model, train, val = keras_test_model()
    callback = ReduceLROnPlateau(**{"patience": 1, "factor": 0.1, "monitor": "val_loss",
                                    "min_delta": 100, **options})
    model.fit(*train, validation_data=val, callbacks=[callback], epochs=epochs, verbose=0)
    assert model.optimizer.learning_rate == pytest.approx(expected)


@pytest.mark.parametrize("callback", [
    ReduceLROnPlateau(patience=1, factor=0.1, monitor="val_loss", min_delta=100),
    LearningRateScheduler(lambda epoch, lr: lr / 2),
], ids=["ReduceLROnPlateau", "LearningRateScheduler"])
def test_a_learning_rate_schedule_is_not_silently_replaced(callback):
    # ReduceLROnPlateauTest.test_throws_when_optimizer_has_schedule
    model, train, val = keras_test_model()
    schedule = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    model.compile(loss="mse", optimizer=Adam(schedule))
    with pytest.raises(TypeError, match="This optimizer was created with a `LearningRateSchedule`"):
        model.fit(*train, validation_data=val, callbacks=[callback], epochs=2, verbose=0)
    assert model.optimizer.learning_rate is schedule


def test_validation_split_takes_the_last_examples_as_keras():
    # keras/src/trainers/data_adapters/array_slicing.py, train_validation_split:
    # split_at = floor(n * (1 - validation_split)); 1,797 digits at 0.2 -> 1,437 and 360.
    seen = {}

    class Sizes(Callback):
        def on_batch_begin(self, batch, logs=None):
            seen["batches"] = batch + 1

    x = np.arange(1797, dtype=np.float32).reshape(-1, 1) / 1797
    y = (np.arange(1797) % 2)
    model = Sequential([Dense(2, activation="softmax")], seed=0)
    model.compile(SGD(0.01), "sparse_categorical_crossentropy")
    batch_size = 1437  # exactly one batch when 1,437 examples are used for training
    history = model.fit(x, y, validation_split=0.2, batch_size=batch_size, epochs=1, verbose=0,
                        callbacks=[Sizes()])
    assert seen["batches"] == 1
    np.testing.assert_allclose(history.history["val_loss"][0],
                               model.evaluate(x[1437:], y[1437:])["loss"], rtol=1e-6)


def test_compile_defaults_are_keras_3():
    defaults = {name: p.default for name, p in inspect.signature(Sequential.compile).parameters.items()
                if name != "self"}
    assert defaults == {"optimizer": "rmsprop", "loss": None, "metrics": None}
    x, y = blobs()
    model = Sequential([Dense(3, activation="softmax")]).compile()
    assert isinstance(model.optimizer, RMSprop) and model.loss is None
    with pytest.raises(ValueError, match=r"No loss to compute. Provide a `loss` argument in `compile\(\)`"):
        model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match="No loss to compute"):
        model.evaluate(x, y)


# ============================================================================ 6. train_step

def test_train_step_is_public_and_reads_in_one_look():
    source = inspect.getsource(Sequential.train_step)
    body = [line for line in source.splitlines()[1:] if line.strip() and '"""' not in line]
    assert len(body) <= 10
    assert not re.search(r"\b_\w+", source.replace("__", "")), "no private names"
    assert "flat" not in source and "validate" not in source


def test_fit_runs_train_step_on_each_batch():
    # The printed method is the code that runs: a hand loop of train_step, in the order
    # fit draws, gives fit's weights bit for bit.
    x, y = blobs()
    by_fit = mlp(seed=3)
    by_fit.fit(x, y, epochs=2, batch_size=32, verbose=0)
    by_hand = mlp(seed=3)
    by_hand.build(x.shape[1])
    for _ in range(2):
        order = by_hand.rng.permutation(len(x))
        for start in range(0, len(x), 32):
            idx = order[start:start + 32]
            by_hand.train_step(x[idx], y[idx])
    for a, b in zip(by_fit.get_weights(), by_hand.get_weights()):
        np.testing.assert_array_equal(a, b)
