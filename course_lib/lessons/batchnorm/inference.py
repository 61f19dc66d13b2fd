"""Batch normalization at test time: running averages, and batch statistics where they fail.

* :func:`block_model` -- the block order of the source material,
  ``Dropout -> Dense -> BatchNormalization -> ReLU``;
* :func:`predict_with_batch_statistics` -- inference where every test batch is normalised
  with its own statistics (what goes wrong with small or one-class batches), through the
  layers' own forward pass (:func:`.runs.forward_with_batch_statistics`);
* :func:`running_average` and :func:`record_running_statistics` -- one training run that
  keeps every step's batch statistics and regular weight snapshots, from which the running
  averages of any momentum and the test accuracy they give are computed afterwards
  (:class:`RunningStatisticsRun`);
* :func:`batch_noise` -- how much an example's representation depends on its batch.
"""
from __future__ import annotations

import functools

import numpy as np

from ..._threads import single_blas_thread
from ..._validation import check_number
from ...callbacks import Callback
from ...layers import Activation, BatchNormalization, Dense, Dropout
from ...model import Sequential
from ...optimizers import SGD
from ..digits import digits, train_on_digits
from .runs import forward_with_batch_statistics


def block_model(units=(128, 64), dropout=0.1, bn_momentum=0.99, seed=0):
    """The block order of the source material, one block per entry of ``units``:
    ``Dropout -> Dense (no bias) -> BatchNormalization -> ReLU``, then ``Dense(10, softmax)``.
    Built for 64 inputs (the digits), float32."""
    layers = []
    for n in units:
        layers += [Dropout(dropout), Dense(n, kernel_initializer="he_normal", use_bias=False),
                   BatchNormalization(momentum=bn_momentum), Activation("relu")]
    layers.append(Dense(10, activation="softmax"))
    model = Sequential(layers, seed=seed)
    model.build(64)
    return model


def predict_with_batch_statistics(model, x, batch_size=None, groups=None):
    """The model's outputs when batch normalization uses the statistics of each test batch.

    This is what happens if a network is left in training mode at test time. ``x`` (n,
    features) is cut into consecutive batches of ``batch_size`` (the last one may be
    smaller; all of ``x`` is one batch by default), or into the index arrays of ``groups``
    (e.g. one group per class). Dropout is off and the model is not changed. Returns the
    outputs, shape (n, classes), in the order of ``x`` (rows in no group are NaN).
    """
    x = np.asarray(x)
    if groups is None:
        batch_size = len(x) if batch_size is None else check_number(
            "batch_size", batch_size, low=1, integer=True)
        groups = [np.arange(start, min(start + batch_size, len(x)))
                  for start in range(0, len(x), batch_size)]
    outputs = np.full((len(x), model.output_dim), np.nan)
    for index in groups:
        outputs[index] = forward_with_batch_statistics(model, x[index])[-1]
    return outputs


def accuracy(probabilities, labels):
    """Fraction of rows whose largest probability is at the label."""
    return float(np.mean(np.argmax(probabilities, axis=1) == np.asarray(labels)))


def batch_noise(model, x_pool, example, batch_sizes, draws=64, seed=0):
    """How much one example's hidden representation changes with the rest of its batch.

    For each batch size b, ``draws`` batches are formed from ``x_pool[example]`` and b - 1
    other examples drawn at random from ``x_pool``; batch normalization uses each batch's
    statistics (training mode, dropout off). The representation is the input of the output
    layer. Returns an array (len(batch_sizes),): for each b, the standard deviation over the
    draws of the example's representation, divided by the spread of that unit over the pool
    (so 0.1 means noise of 10% of the signal), averaged over the units.
    """
    rng = np.random.default_rng(seed)
    x_pool = np.asarray(x_pool)
    with single_blas_thread():
        spread = forward_with_batch_statistics(model, x_pool)[-2].std(axis=0)
        live = spread > 1e-6 * max(spread.max(), 1e-30)   # units never active carry no signal
        others = np.delete(np.arange(len(x_pool)), example)
        noise = []
        for b in batch_sizes:
            b = check_number("batch_size", b, low=2, high=len(x_pool), integer=True)
            representations = []
            for _ in range(draws):
                index = np.concatenate([[example], rng.choice(others, b - 1, replace=False)])
                representations.append(forward_with_batch_statistics(model, x_pool[index])[-2][0])
            noise.append(float(np.mean(np.std(representations, axis=0)[live] / spread[live])))
    return np.array(noise)


def running_average(values, momentum, initial):
    """The moving average of ``BatchNormalization`` over a sequence of batch statistics.

    ``r_t = momentum * r_(t-1) + (1 - momentum) * values[t]`` from ``r_(-1) = initial``
    (0 for the mean, 1 for the variance, as the layer starts). values: (steps, units);
    returns (steps, units): row t is the average after step t.
    """
    momentum = check_number("momentum", momentum, low=0.0, high=1.0, high_inclusive=False)
    values = np.asarray(values, dtype=np.float64)
    out = np.empty_like(values)
    r = np.broadcast_to(np.asarray(initial, dtype=np.float64), values.shape[1:]).copy()
    for t, value in enumerate(values):
        r = momentum * r + (1.0 - momentum) * value
        out[t] = r
    return out


def population_statistics(model, x):
    """Per BatchNormalization layer, the pair (mean, variance) of what enters it when all of
    ``x`` goes through the network as one batch: the values a perfect running average would
    hold (the "true" statistics). Each is an array (units,) in float64."""
    outputs = forward_with_batch_statistics(model, x)
    inputs = [x] + outputs[:-1]                       # what enters each layer
    return [(inputs[i].mean(axis=0).astype(np.float64), inputs[i].var(axis=0).astype(np.float64))
            for i, layer in enumerate(model.layers) if isinstance(layer, BatchNormalization)]


#: Momenta offered by the running-average explorer (Keras's default is 0.99).
MOMENTA = (0.0, 0.5, 0.9, 0.95, 0.99, 0.995, 0.999)

#: Test batch sizes offered by the running-average explorer (all divide the 270 test digits).
TEST_BATCH_SIZES = (1, 2, 5, 10, 30, 270)

#: How many test batches measure the accuracy with batch statistics: each batch is one pass
#: through the network, so batches of 1 over all 270 test digits would cost 270 passes per
#: snapshot. 27 batches cover all test digits from batches of 10 up, and 27 or 54 of them
#: for batches of 1 or 2 (which lose most of the information anyway).
BATCH_STATISTICS_BATCHES = 27


class BatchStatisticsLog(Callback):
    """Keeps each step's batch statistics (the moving averages of layers with momentum 0)
    and a copy of the weights every ``every`` steps."""

    def __init__(self, every):
        self.every = every
        self.means, self.variances, self.snapshots, self.snapshot_steps = [], [], [], []
        self.step = 0

    def on_batch_end(self, batch, logs=None):
        self.step += 1
        bns = [layer for layer in self.model.layers if isinstance(layer, BatchNormalization)]
        self.means.append([layer.moving_mean.astype(np.float64) for layer in bns])
        self.variances.append([layer.moving_variance.astype(np.float64) for layer in bns])
        if self.step % self.every == 0:
            self.snapshots.append(self.model.get_weights())
            self.snapshot_steps.append(self.step)


class RunningStatisticsRun:
    """One training run of a batch-normalised digits network, replayed for any momentum.

    The moving averages never influence training (only inference uses them), so one run
    with momentum 0 (its "moving" statistics are then each step's batch statistics) gives
    the running averages of every momentum afterwards, by :func:`running_average`.

    Attributes:
        model: the trained Sequential (weights are swapped in by the methods).
        batch_means, batch_variances: per BN layer, (steps, units) arrays of batch statistics.
        snapshot_steps: (E,) steps after which weights were copied; snapshots: the copies.
        population_means, population_variances: per BN layer, (E, units): the statistics of
            the whole training set through the network of each snapshot (the "true" values).
        x_test, y_test: the test digits.
    """

    def __init__(self, model, log, data):
        self.model = model
        self.steps = log.step
        n_layers = len(log.means[0])
        self.batch_means = [np.array([m[i] for m in log.means]) for i in range(n_layers)]
        self.batch_variances = [np.array([v[i] for v in log.variances]) for i in range(n_layers)]
        self.snapshot_steps = np.array(log.snapshot_steps)
        self.snapshots = log.snapshots
        self.x_test, self.y_test = data.x_test, data.y_test
        self._bns = [layer for layer in model.layers if isinstance(layer, BatchNormalization)]
        population = []
        with single_blas_thread():
            for weights in self.snapshots:
                self.model.set_weights(weights)
                population.append(population_statistics(self.model, data.x_train))
        self.population_means = [np.array([p[i][0] for p in population]) for i in range(n_layers)]
        self.population_variances = [np.array([p[i][1] for p in population])
                                     for i in range(n_layers)]
        self._running, self._accuracy = {}, {}

    def running(self, momentum):
        """Per BN layer, (means, variances) after every step, each (steps, units)."""
        key = float(momentum)
        if key not in self._running:
            self._running[key] = [
                (running_average(m, key, 0.0), running_average(v, key, 1.0))
                for m, v in zip(self.batch_means, self.batch_variances)]
        return self._running[key]

    def _test_accuracy(self, weights, statistics=None, batch_size=None):
        self.model.set_weights(weights)
        if batch_size is not None:
            n = BATCH_STATISTICS_BATCHES * batch_size
            with single_blas_thread():
                return accuracy(predict_with_batch_statistics(self.model, self.x_test[:n],
                                                              batch_size), self.y_test[:n])
        for layer, (mean, var) in zip(self._bns, statistics):
            layer.set_state([mean, var])
        return accuracy(self.model.predict(self.x_test), self.y_test)

    def accuracy_running(self, momentum):
        """Test accuracy at each snapshot, normalising with the running averages, (E,)."""
        key = ("running", float(momentum))
        if key not in self._accuracy:
            running = self.running(momentum)
            self._accuracy[key] = np.array([
                self._test_accuracy(w, [(m[s - 1], v[s - 1]) for m, v in running])
                for w, s in zip(self.snapshots, self.snapshot_steps)])
        return self._accuracy[key]

    def accuracy_population(self):
        """Test accuracy at each snapshot with the true (whole training set) statistics, (E,)."""
        key = ("population",)
        if key not in self._accuracy:
            self._accuracy[key] = np.array([
                self._test_accuracy(w, [(m[e], v[e]) for m, v in
                                        zip(self.population_means, self.population_variances)])
                for e, w in enumerate(self.snapshots)])
        return self._accuracy[key]

    def accuracy_batch(self, batch_size):
        """Test accuracy at each snapshot when each test batch uses its own statistics, (E,),
        on the first :data:`BATCH_STATISTICS_BATCHES` test batches of ``batch_size``."""
        key = ("batch", int(batch_size))
        if key not in self._accuracy:
            self._accuracy[key] = np.array([self._test_accuracy(w, batch_size=batch_size)
                                            for w in self.snapshots])
        return self._accuracy[key]

    def final_accuracy_with_batch_statistics(self, batch_size=None, groups=None):
        """Test accuracy with the weights of the last snapshot when each test batch of
        ``batch_size`` (or each group of test indices) is normalised with its own statistics,
        on all the test digits."""
        self.model.set_weights(self.snapshots[-1])
        with single_blas_thread():
            return accuracy(predict_with_batch_statistics(self.model, self.x_test, batch_size,
                                                          groups), self.y_test)

    def running_error(self, momentum):
        """At each snapshot, how far the running statistics are from the true ones: the mean
        over all units of ``|running mean - true mean| / true std``, shape (E,)."""
        errors = []
        for e, s in enumerate(self.snapshot_steps):
            per_layer = [np.abs(m[s - 1] - pm[e]) / np.sqrt(pv[e] + 1e-3)
                         for (m, _), pm, pv in zip(self.running(momentum), self.population_means,
                                                   self.population_variances)]
            errors.append(float(np.mean(np.concatenate(per_layer))))
        return np.array(errors)


def running_statistics_layers(bn_momentum=0.0):
    """The network of :func:`record_running_statistics`, as a new list of layers:
    ``Dense(64, no bias) -> BN -> ReLU`` twice, then ``Dense(10, softmax)``."""
    layers = []
    for _ in range(2):
        layers += [Dense(64, kernel_initializer="he_normal", use_bias=False),
                   BatchNormalization(momentum=bn_momentum), Activation("relu")]
    return layers + [Dense(10, activation="softmax")]


@functools.lru_cache(maxsize=16)
def record_running_statistics(epochs=6, batch_size=32, learning_rate=0.05, every=10, seed=0,
                              standardize=True):
    """Train :func:`running_statistics_layers` with SGD (momentum 0.9) on the digits (pixels
    standardised or in [0, 1]), keeping every step's batch statistics and the weights every
    ``every`` steps (cached). Its batch-norm layers have momentum 0, so their moving averages
    are the batch statistics of each step. Returns a :class:`RunningStatisticsRun`."""
    log = BatchStatisticsLog(every)
    model, _ = train_on_digits(running_statistics_layers(bn_momentum=0.0),
                               SGD(learning_rate, momentum=0.9), epochs=epochs,
                               batch_size=batch_size, seed=seed, standardize=standardize,
                               callbacks=[log])
    return RunningStatisticsRun(model, log, digits(standardize=standardize))
