"""Training-speed benchmark: ``Sequential.fit`` against a fused NumPy loop, scikit-learn, PyTorch.

The budget in DESIGN.md ("Performance budgets", training): on the digits, an MLP
64-256-10 with ReLU, Adam(1e-3), batch 32, 20 epochs, ``Sequential.fit`` takes at most
1.5x the time of a hand-written fused NumPy loop, and less than scikit-learn's
``MLPClassifier`` and PyTorch on the CPU, at the same accuracy.

A fifth row, ``fit/array``, is ``Sequential.fit`` with the optimizer stepping each weight
array instead of ``Sequential.theta``, the one vector of all trainable parameters: it
measures what that performance device saves.

Every method trains on the course's split (``digits_splits()``: 1,257 standardized
training images) in this one process. The methods run interleaved (fit, fused, sklearn,
torch, fit, fused, ...) so that a slow spell of the machine hits all of them alike, after
one untimed one-epoch warm-up each. The time measured is building the model plus
training; evaluating the test accuracy is not timed.

    python bench/training.py [--repeats 5] [--epochs 20] [--blas-threads N] [--torch-threads N]

The header prints how many threads BLAS uses. Matrices this small gain nothing from
several BLAS threads, and on a machine where another process keeps a core busy, idle
BLAS threads waiting for that core can make every NumPy method several times slower;
``--blas-threads 1`` (through threadpoolctl) applies the same limit to all NumPy-based
methods (fit, fused, sklearn), which keeps the comparison fair. PyTorch uses every core
unless ``--torch-threads`` says otherwise; it suffers from a busy core in the same way.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from course_lib.data import digits_splits  # noqa: E402

HIDDEN_UNITS = 256
N_CLASSES = 10
BATCH_SIZE = 32
LEARNING_RATE = 1e-3
BETA_1, BETA_2, EPSILON = 0.9, 0.999, 1e-7  # Keras defaults


def glorot_uniform(rng, fan_in, fan_out):
    """Kernel of shape (fan_in, fan_out), uniform in +-sqrt(6 / (fan_in + fan_out)), float32."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32)


# --------------------------------------------------------------------------- (a) Sequential.fit

def make_fit_method(per_array=False):
    """Return the ``Sequential.fit`` runner, or the reason it cannot run.

    ``per_array=True``: the optimizer steps each trainable array, not ``theta``.
    """
    try:
        from course_lib.layers import Dense
        from course_lib.model import Sequential
        from course_lib.optimizers import Adam
    except Exception as err:  # the library may be incomplete while it is being written
        return None, f"{type(err).__name__}: {err}"

    class PerArraySequential(Sequential):
        def train_step(self, x, y):
            y_pred = self.forward(x, training=True)
            loss, grad = self.loss_and_gradient(y, y_pred)
            self.backward(grad)
            trainable = [layer for layer in self.layers if layer.trainable]
            self.optimizer.step([w for layer in trainable for w in layer.params],
                                [g for layer in trainable for g in layer.grads])
            for layer in trainable:
                layer.apply_constraints()
            return loss

    model_class = PerArraySequential if per_array else Sequential

    def run_fit(data, epochs, seed):
        start = time.perf_counter()
        model = model_class([Dense(HIDDEN_UNITS, activation="relu"),
                             Dense(N_CLASSES, activation="softmax")], seed=seed)
        model.compile(optimizer=Adam(LEARNING_RATE), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(data.x_train, data.y_train, epochs=epochs, batch_size=BATCH_SIZE, verbose=0)
        seconds = time.perf_counter() - start
        return seconds, float(model.evaluate(data.x_test, data.y_test)["accuracy"])

    return run_fit, None


# --------------------------------------------------------------------------- (b) fused NumPy loop

def run_fused(data, epochs, seed):
    """The same network, loss and Adam written as one loop with preallocated float32 buffers.

    All four parameter arrays are views into one flat buffer (and their gradients into
    another), so each Adam step is a handful of NumPy calls on 19,210 numbers instead of
    one set of calls per array. Softmax and cross-entropy are fused: d loss / d logits =
    (probabilities - one_hot(y)) / batch.
    """
    start = time.perf_counter()
    x, y = data.x_train, data.y_train
    n, n_inputs = x.shape
    rng = np.random.default_rng(seed)

    shapes = [(n_inputs, HIDDEN_UNITS), (HIDDEN_UNITS,), (HIDDEN_UNITS, N_CLASSES), (N_CLASSES,)]
    sizes = [int(np.prod(s)) for s in shapes]
    offsets = np.cumsum([0] + sizes)
    params = np.zeros(offsets[-1], dtype=np.float32)
    grads = np.zeros_like(params)
    w1, b1, w2, b2 = (params[a:b].reshape(s) for a, b, s in zip(offsets, offsets[1:], shapes))
    gw1, gb1, gw2, gb2 = (grads[a:b].reshape(s) for a, b, s in zip(offsets, offsets[1:], shapes))
    w1[...] = glorot_uniform(rng, n_inputs, HIDDEN_UNITS)
    w2[...] = glorot_uniform(rng, HIDDEN_UNITS, N_CLASSES)

    m = np.zeros_like(params)
    v = np.zeros_like(params)
    tmp = np.empty_like(params)
    hidden_buf = np.empty((BATCH_SIZE, HIDDEN_UNITS), dtype=np.float32)
    dhidden_buf = np.empty_like(hidden_buf)
    out_buf = np.empty((BATCH_SIZE, N_CLASSES), dtype=np.float32)
    rows = np.arange(BATCH_SIZE)
    step = 0
    for _ in range(epochs):
        order = rng.permutation(n)
        xs, ys = x[order], y[order]  # one gather per epoch; batches are then contiguous slices
        for lo in range(0, n, BATCH_SIZE):
            xb, yb = xs[lo:lo + BATCH_SIZE], ys[lo:lo + BATCH_SIZE]
            nb = len(xb)
            hidden, dhidden, out = hidden_buf[:nb], dhidden_buf[:nb], out_buf[:nb]
            # forward: hidden = relu(x W1 + b1); out = softmax(hidden W2 + b2)
            np.matmul(xb, w1, out=hidden)
            hidden += b1
            np.maximum(hidden, 0.0, out=hidden)
            np.matmul(hidden, w2, out=out)
            out += b2
            out -= out.max(axis=1, keepdims=True)
            np.exp(out, out=out)
            out /= out.sum(axis=1, keepdims=True)
            # backward: out becomes d loss / d logits
            out[rows[:nb], yb] -= 1.0
            out *= np.float32(1.0 / nb)
            np.matmul(hidden.T, out, out=gw2)
            np.sum(out, axis=0, out=gb2)
            np.matmul(out, w2.T, out=dhidden)
            dhidden[hidden <= 0.0] = 0.0
            np.matmul(xb.T, dhidden, out=gw1)
            np.sum(dhidden, axis=0, out=gb1)
            # Adam, Keras 3 rule: w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
            step += 1
            alpha = LEARNING_RATE * np.sqrt(1.0 - BETA_2 ** step) / (1.0 - BETA_1 ** step)
            m *= BETA_1
            np.multiply(grads, 1.0 - BETA_1, out=tmp)
            m += tmp
            v *= BETA_2
            np.square(grads, out=tmp)
            tmp *= 1.0 - BETA_2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp += EPSILON
            np.divide(m, tmp, out=tmp)
            tmp *= np.float32(alpha)
            params -= tmp
    seconds = time.perf_counter() - start

    hidden = np.maximum(data.x_test @ w1 + b1, 0.0)
    predicted = np.argmax(hidden @ w2 + b2, axis=1)
    return seconds, float(np.mean(predicted == data.y_test))


# --------------------------------------------------------------------------- (c) scikit-learn

def make_sklearn_method():
    try:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
    except ImportError as err:
        return None, f"{type(err).__name__}: {err}"

    def run_sklearn(data, epochs, seed):
        start = time.perf_counter()
        model = MLPClassifier(hidden_layer_sizes=(HIDDEN_UNITS,), activation="relu",
                              solver="adam", learning_rate_init=LEARNING_RATE,
                              batch_size=BATCH_SIZE, max_iter=epochs, alpha=0.0, shuffle=True,
                              tol=0.0, n_iter_no_change=1000, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is the epoch count
            model.fit(data.x_train, data.y_train)
        seconds = time.perf_counter() - start
        return seconds, float(model.score(data.x_test, data.y_test))

    return run_sklearn, None


# --------------------------------------------------------------------------- (d) PyTorch

def make_torch_method(num_threads=None):
    """Return the PyTorch runner (``num_threads`` intra-op threads, default: every core)."""
    try:
        import torch
    except ImportError as err:
        return None, f"{type(err).__name__}: {err}"
    torch.set_num_threads(num_threads or os.cpu_count() or 1)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    def run_torch(data, epochs, seed):
        start = time.perf_counter()
        rng = np.random.default_rng(seed)
        n, n_inputs = data.x_train.shape
        model = torch.nn.Sequential(torch.nn.Linear(n_inputs, HIDDEN_UNITS), torch.nn.ReLU(),
                                    torch.nn.Linear(HIDDEN_UNITS, N_CLASSES))
        with torch.no_grad():  # the same glorot_uniform draw as the fused loop, zero biases
            for layer in (model[0], model[2]):
                kernel = glorot_uniform(rng, layer.in_features, layer.out_features)
                layer.weight.copy_(torch.from_numpy(kernel.T.copy()))
                layer.bias.zero_()
        optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE,
                                     betas=(BETA_1, BETA_2), eps=EPSILON)
        x = torch.from_numpy(data.x_train)
        y = torch.from_numpy(data.y_train)
        loss_fn = torch.nn.CrossEntropyLoss()  # softmax + cross-entropy on logits
        for _ in range(epochs):
            order = torch.from_numpy(rng.permutation(n))
            for lo in range(0, n, BATCH_SIZE):
                idx = order[lo:lo + BATCH_SIZE]
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(x[idx]), y[idx])
                loss.backward()
                optimizer.step()
        seconds = time.perf_counter() - start
        with torch.no_grad():
            predicted = model(torch.from_numpy(data.x_test)).argmax(dim=1).numpy()
        return seconds, float(np.mean(predicted == data.y_test))

    return run_torch, None


# --------------------------------------------------------------------------- driver

def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}")
    return value


def blas_threads():
    """Describe the BLAS libraries loaded and their thread counts (needs threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS threads: unknown (threadpoolctl not installed)"
    pools = [f"{p['internal_api']} {p['num_threads']}" for p in threadpool_info()
             if p["user_api"] == "blas"]
    return "BLAS threads: " + (", ".join(pools) or "none found")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=positive_int, default=5,
                        help="timed runs of each method (default 5)")
    parser.add_argument("--epochs", type=positive_int, default=20,
                        help="training epochs per run (default 20)")
    parser.add_argument("--blas-threads", type=positive_int, default=1,
                        help="limit BLAS to this many threads for every NumPy method (default 1, "
                             "as Sequential.fit does: the matrices are small)")
    parser.add_argument("--torch-threads", type=positive_int, default=1,
                        help="PyTorch intra-op threads (default 1, the same as the others)")
    args = parser.parse_args(argv)
    if args.blas_threads is not None:
        from threadpoolctl import threadpool_limits
        with threadpool_limits(limits=args.blas_threads, user_api="blas"):
            return run_benchmark(args)
    return run_benchmark(args)


def run_benchmark(args):
    """Run every available method interleaved and print the table and the verdicts."""
    data = digits_splits()
    print(f"digits: {len(data.x_train)} train / {len(data.x_test)} test, MLP "
          f"{data.x_train.shape[1]}-{HIDDEN_UNITS}-{N_CLASSES} ReLU, Adam({LEARNING_RATE:g}), "
          f"batch {BATCH_SIZE}, {args.epochs} epochs, {args.repeats} repeats, "
          f"{os.cpu_count()} cores, numpy {np.__version__}, {blas_threads()}")

    methods = {"fused": run_fused}
    factories = [("fit", make_fit_method), ("fit/array", lambda: make_fit_method(per_array=True)),
                 ("sklearn", make_sklearn_method),
                 ("torch", lambda: make_torch_method(args.torch_threads))]
    for name, factory in factories:
        runner, problem = factory()
        if runner is None:
            print(f"skipped {name}: {problem}")
        else:
            methods[name] = runner
    order = [name for name in ("fit", "fused", "fit/array", "sklearn", "torch") if name in methods]

    for name in list(order):  # warm-up: imports, thread pools, first-call costs
        try:
            methods[name](data, 1, 0)
        except Exception as err:
            print(f"skipped {name}: failed in warm-up with {type(err).__name__}: {err}")
            order.remove(name)

    times = {name: [] for name in order}
    accuracies = {name: [] for name in order}
    for repeat in range(args.repeats):
        for name in order:
            seconds, accuracy = methods[name](data, args.epochs, repeat)
            times[name].append(seconds)
            accuracies[name].append(accuracy)

    median = {name: statistics.median(times[name]) for name in order}
    accuracy = {name: statistics.median(accuracies[name]) for name in order}
    print()
    print(f"{'method':<10}{'median s':>10}{'min s':>10}{'test acc':>10}{'/ fused':>10}")
    for name in order:
        print(f"{name:<10}{median[name]:>10.3f}{min(times[name]):>10.3f}"
              f"{accuracy[name]:>10.3f}{median[name] / median['fused']:>10.2f}")
    print()

    if "fit" not in median:
        print("fit / fused: not measured (Sequential.fit unavailable)")
        return 0
    ratio = median["fit"] / median["fused"]
    print(f"fit / fused = {ratio:.2f} (target <= 1.5): {'met' if ratio <= 1.5 else 'MISSED'}")
    if "fit/array" in median:
        print(f"fit/array / fused = {median['fit/array'] / median['fused']:.2f}: stepping each "
              f"array instead of theta")
    for other in ("sklearn", "torch"):
        if other not in median:
            print(f"fit vs {other}: not measured ({other} unavailable)")
            continue
        ratio = median["fit"] / median[other]
        verdict = "faster" if ratio < 1 else "SLOWER"
        print(f"fit vs {other}: fit / {other} = {ratio:.2f} (target < 1): {verdict}; "
              f"accuracy {accuracy['fit']:.3f} vs {accuracy[other]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
