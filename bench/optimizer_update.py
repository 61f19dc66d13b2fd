"""What the textbook form of the optimizers costs: ``update_step`` against the buffer form.

``course_lib.optimizers`` writes each rule as its equations (``m[...] = b1 * m + (1 - b1)
* g``), which makes NumPy allocate a temporary array for every operation. The buffer form
below (``BufferSGD``, ``BufferAdam``, ...) is the same rules computed in place through one
scratch array per parameter array, as the library computed them before; it lives only
here, for this comparison and for ``tests/core/test_optimizers.py``, which checks that the
two forms agree (bit for bit, or within a few rounding errors where the order of the
floating-point operations differs).

Two measurements, textbook and buffer form interleaved (textbook, buffer, textbook, ...)
so that a slow spell of the machine hits both alike, after an untimed warm-up, medians
over the repeats, BLAS limited to one thread as ``Sequential.fit`` does:

- ``Sequential.fit`` on the digits (1,257 training images), MLP 64-256-10 with ReLU,
  batch 32, Adam(1e-3) and SGD(0.01, momentum=0.9), float32;
- one ``step`` on the course's parameter shapes: the model's one flat float32 vector of
  19,210 parameters (what ``Sequential`` passes to ``step``) and the four arrays of that
  MLP as separate arrays (64x256, 256, 256x10, 10), for each of the eight optimizers.

    python bench/optimizer_update.py [--repeats 7] [--epochs 3] [--steps 2000]
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from course_lib import optimizers  # noqa: E402
from course_lib._threads import single_blas_thread  # noqa: E402
from course_lib.optimizers import (SGD, Adagrad, Adam, Adamax, AdamNoBiasCorrection,  # noqa: E402
                                   Nadam, RMSprop)

LAYER_SHAPES = [(64, 256), (256,), (256, 10), (10,)]
HIDDEN_UNITS, N_CLASSES, BATCH_SIZE = 256, 10, 32


# --------------------------------------------------------------------------- the buffer form

def _exponential_average(average, x, decay, scratch):
    """average = decay * average + (1 - decay) * x, in place. ``scratch`` may be ``x``."""
    np.multiply(x, 1.0 - decay, out=scratch)
    average *= decay
    average += scratch


class BufferForm:
    """Mixin: ``step`` through ``_update(w, g, state, lr, t)`` with one scratch array each."""

    def step(self, params, grads):
        self._check(params, grads)
        if not getattr(self, "_buffers", None):
            self._buffers = [{**self._new_state(w), "scratch": np.empty_like(w)} for w in params]
        lr = self.current_learning_rate
        t = self.iterations + 1
        with np.errstate(over="ignore", invalid="ignore"):
            for w, g, state in zip(params, grads, self._buffers):
                self._update(w, g, state, lr, t)
        self.iterations = t

    def reset(self):
        super().reset()
        self._buffers = None

    def _new_state(self, w):
        return {}


class BufferSGD(BufferForm, SGD):
    def _new_state(self, w):
        return {"velocity": np.zeros_like(w)} if self.momentum else {}

    def _update(self, w, g, state, lr, t):
        step = np.multiply(g, -lr, out=state["scratch"])
        if not self.momentum:
            w += step
            return
        v = state["velocity"]
        v *= self.momentum
        v += step
        if self.nesterov:
            w += step
            w += np.multiply(v, self.momentum, out=step)
        else:
            w += v


class BufferAdagrad(BufferForm, Adagrad):
    def _new_state(self, w):
        return {"accumulator": np.full_like(w, self.initial_accumulator_value)}

    def _update(self, w, g, state, lr, t):
        a, tmp = state["accumulator"], state["scratch"]
        a += np.square(g, out=tmp)
        np.add(a, self.epsilon, out=tmp)
        np.sqrt(tmp, out=tmp)
        np.divide(g, tmp, out=tmp)
        tmp *= lr
        w -= tmp


class BufferRMSprop(BufferForm, RMSprop):
    def _new_state(self, w):
        return {"s": np.zeros_like(w)}

    def _update(self, w, g, state, lr, t):
        s, tmp = state["s"], state["scratch"]
        np.square(g, out=tmp)
        _exponential_average(s, tmp, self.rho, tmp)
        np.add(s, self.epsilon, out=tmp)
        np.sqrt(tmp, out=tmp)
        np.divide(g, tmp, out=tmp)
        tmp *= lr
        w -= tmp


class BufferAdam(BufferForm, Adam):
    def _new_state(self, w):
        return {"m": np.zeros_like(w), "v": np.zeros_like(w)}

    def _moments(self, g, state):
        m, v, tmp = state["m"], state["v"], state["scratch"]
        _exponential_average(m, g, self.beta_1, tmp)
        np.square(g, out=tmp)
        _exponential_average(v, tmp, self.beta_2, tmp)
        return m, v

    def _update(self, w, g, state, lr, t):
        m, v = self._moments(g, state)
        tmp = state["scratch"]
        alpha = lr * math.sqrt(1.0 - self.beta_2 ** t) / (1.0 - self.beta_1 ** t)
        np.sqrt(v, out=tmp)
        tmp += self.epsilon
        np.divide(m, tmp, out=tmp)
        tmp *= alpha
        w -= tmp


class BufferAdamNoBiasCorrection(BufferAdam, AdamNoBiasCorrection):
    def _update(self, w, g, state, lr, t):
        m, v = self._moments(g, state)
        tmp = state["scratch"]
        np.sqrt(v, out=tmp)
        tmp += self.epsilon
        np.divide(m, tmp, out=tmp)
        tmp *= lr
        w -= tmp


class BufferAdamax(BufferForm, Adamax):
    def _new_state(self, w):
        return {"m": np.zeros_like(w), "u": np.zeros_like(w)}

    def _update(self, w, g, state, lr, t):
        m, u, tmp = state["m"], state["u"], state["scratch"]
        _exponential_average(m, g, self.beta_1, tmp)
        u *= self.beta_2
        np.maximum(u, np.abs(g, out=tmp), out=u)
        np.add(u, self.epsilon, out=tmp)
        np.divide(m, tmp, out=tmp)
        tmp *= lr / (1.0 - self.beta_1 ** t)
        w -= tmp


class BufferNadam(BufferAdam, Nadam):
    def _new_state(self, w):
        return {"m": np.zeros_like(w), "v": np.zeros_like(w), "m_hat": np.zeros_like(w),
                "mu_product": 1.0}

    def _update(self, w, g, state, lr, t):
        b1 = self.beta_1
        mu_t = b1 * (1.0 - 0.5 * 0.96 ** t)
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** (t + 1))
        state["mu_product"] *= mu_t
        p_t = state["mu_product"]
        m, v = self._moments(g, state)
        m_hat, tmp = state["m_hat"], state["scratch"]
        np.multiply(m, mu_next / (1.0 - p_t * mu_next), out=m_hat)
        m_hat += np.multiply(g, (1.0 - mu_t) / (1.0 - p_t), out=tmp)
        np.divide(v, 1.0 - self.beta_2 ** t, out=tmp)
        np.sqrt(tmp, out=tmp)
        tmp += self.epsilon
        np.divide(m_hat, tmp, out=tmp)
        tmp *= lr
        w -= tmp


#: textbook class -> its buffer form
BUFFER_FORM = {SGD: BufferSGD, Adagrad: BufferAdagrad, RMSprop: BufferRMSprop, Adam: BufferAdam,
               AdamNoBiasCorrection: BufferAdamNoBiasCorrection, Adamax: BufferAdamax,
               Nadam: BufferNadam}


def buffer_form(optimizer):
    """A new optimizer of the buffer form with the same configuration as ``optimizer``."""
    return BUFFER_FORM[type(optimizer)].from_config(optimizer.get_config())


# --------------------------------------------------------------------------- measurements

def largest_relative_difference(optimizer, steps=200, dtype=np.float32, shapes=LAYER_SHAPES, seed=0):
    """Run ``optimizer`` and its buffer form on the same gradients (those the textbook form
    sees, so both get identical inputs); returns max |a - b| / max |b| over the arrays."""
    rng = np.random.default_rng(seed)
    buffer = buffer_form(optimizer)
    a = [rng.normal(size=s).astype(dtype) for s in shapes]
    b = [w.copy() for w in a]
    for _ in range(steps):
        grads = [(0.5 * w + rng.normal(size=w.shape)).astype(dtype) for w in a]
        optimizer.step(a, grads)
        buffer.step(b, grads)
    return max(float(np.max(np.abs(x - y)) / np.max(np.abs(y))) for x, y in zip(a, b))


def time_steps(optimizer, params, grads, steps):
    """Seconds per ``step``, over ``steps`` calls after 20 untimed ones."""
    for _ in range(20):
        optimizer.step(params, grads)
    start = time.perf_counter()
    for _ in range(steps):
        optimizer.step(params, grads)
    return (time.perf_counter() - start) / steps


def time_fit(optimizer, data, epochs, seed):
    from course_lib.layers import Dense
    from course_lib.model import Sequential
    model = Sequential([Dense(HIDDEN_UNITS, activation="relu"),
                        Dense(N_CLASSES, activation="softmax")], seed=seed)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    start = time.perf_counter()
    model.fit(data.x_train, data.y_train, epochs=epochs, batch_size=BATCH_SIZE, verbose=0)
    return time.perf_counter() - start, model


def median_pair(run_textbook, run_buffer, repeats):
    """Medians of ``repeats`` interleaved timings of the two forms, after one warm-up each."""
    run_textbook(), run_buffer()
    textbook, buffer = [], []
    for _ in range(repeats):
        textbook.append(run_textbook())
        buffer.append(run_buffer())
    return statistics.median(textbook), statistics.median(buffer)


def row(label, textbook, buffer, unit, scale):
    print(f"{label:<40}{textbook * scale:>12.1f}{buffer * scale:>12.1f}"
          f"{textbook / buffer:>10.2f}   {unit}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs of each form (default 7)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per fit (default 3)")
    parser.add_argument("--steps", type=int, default=2000,
                        help="optimizer steps per timing of one step (default 2000)")
    args = parser.parse_args(argv)
    from course_lib.data import digits_splits
    data = digits_splits()
    print(f"numpy {np.__version__}, 1 BLAS thread, medians of {args.repeats} interleaved repeats")
    print(f"{'':<40}{'textbook':>12}{'buffer':>12}{'ratio':>10}")
    with single_blas_thread():
        for name, make in [("Adam(1e-3)", lambda: Adam(1e-3)),
                           ("SGD(0.01, momentum=0.9)", lambda: SGD(0.01, momentum=0.9))]:
            fits = median_pair(lambda: time_fit(make(), data, args.epochs, 0)[0],
                               lambda: time_fit(buffer_form(make()), data, args.epochs, 0)[0],
                               args.repeats)
            row(f"fit {args.epochs} epochs, {name}", *fits, "ms", 1e3)
        rng = np.random.default_rng(0)
        n_flat = sum(math.prod(s) for s in LAYER_SHAPES)
        for label, shapes in [(f"flat ({n_flat},)", [(n_flat,)]), ("4 arrays", LAYER_SHAPES)]:
            params = [rng.normal(size=s).astype(np.float32) for s in shapes]
            grads = [rng.normal(size=s).astype(np.float32) for s in shapes]
            for name in optimizers.OPTIMIZER_NAMES:
                def run(form, name=name):
                    opt = form(optimizers.get(name, learning_rate=1e-3))
                    return time_steps(opt, [w.copy() for w in params], grads, args.steps)
                steps = median_pair(lambda: run(lambda o: o), lambda: run(buffer_form), args.repeats)
                row(f"step {label}, {name}", *steps, "us", 1e6)
    print()
    print("largest relative difference textbook vs buffer after 200 steps, float64 / float32:")
    for name in optimizers.OPTIMIZER_NAMES:
        diffs = [largest_relative_difference(optimizers.get(name, learning_rate=0.01), dtype=dtype)
                 for dtype in (np.float64, np.float32)]
        print(f"  {name:<10}{diffs[0]:>10.1e}{diffs[1]:>10.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
