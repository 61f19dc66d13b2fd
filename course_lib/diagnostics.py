"""Per-layer statistics of one forward and backward pass: how signals and gradients travel.

A deep network trains only if what flows through it keeps a sensible size: the activations
going forward and the gradients coming back. :func:`layer_statistics` runs one batch through
a built and compiled :class:`~course_lib.model.Sequential` with nothing but the public layer
contract (``layer.forward``, ``layer.backward``, ``layer.grads``) and the loss's gradient, and
measures, layer by layer:

* the mean and standard deviation of the layer's output, and the fraction of it that is
  exactly zero (ReLU units that are off);
* the norm of the gradient arriving at the layer's output, d loss / d output (for a softmax
  or sigmoid output fused with its cross-entropy, d loss / d pre-activation, as the model
  itself computes it);
* the norm of the gradient of the layer's kernel, d loss / d kernel (0 for a layer without
  parameters): what the optimizer sees.

A gradient norm that shrinks by orders of magnitude from the last layer to the first is the
vanishing-gradient problem; one that grows is the exploding one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib._threads import single_blas_thread


@dataclass(frozen=True)
class LayerStatistics:
    """What one pass measured, one entry per layer (arrays of shape (layers,))."""

    names: tuple
    mean: np.ndarray
    std: np.ndarray
    zero_fraction: np.ndarray
    output_gradient_norm: np.ndarray
    kernel_gradient_norm: np.ndarray
    loss: float

    def __len__(self):
        return len(self.names)

    def as_rows(self):
        """One dict per layer, for printing as a table."""
        return [{"layer": name, "mean": float(m), "std": float(s), "zero": float(z),
                 "output grad norm": float(go), "kernel grad norm": float(gk)}
                for name, m, s, z, go, gk in zip(self.names, self.mean, self.std,
                                                  self.zero_fraction, self.output_gradient_norm,
                                                  self.kernel_gradient_norm)]


def layer_statistics(model, x, y, training=False):
    """Forward and backward once through ``model`` on the batch ``(x, y)``; measure each layer.

    Args:
        model: a compiled ``Sequential`` (built here for ``x`` if it is not yet).
        x: inputs, shape (batch, features).
        y: targets in the form the model's loss takes.
        training: whether layers run in training mode (dropout masks, batch statistics).

    Returns:
        a :class:`LayerStatistics`. The parameters are not changed; each layer's ``grads``
        hold this batch's gradients afterwards, as after ``Model.backward``.
    """
    if model.loss is None:
        raise ValueError("model must be compiled with a loss before layer_statistics; "
                         "call model.compile(optimizer, loss) first.")
    x = np.asarray(x, dtype=model.dtype)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (batch, features); got shape {x.shape}.")
    if not model.built:
        model.build(x.shape[1])

    with single_blas_thread():
        outputs, output_gradient_norms, loss = _passes(model, x, y, training)

    kernel_gradient_norms = [_kernel_gradient_norm(layer) for layer in model.layers]
    return LayerStatistics(
        names=tuple(layer.name for layer in model.layers),
        mean=np.array([out.mean() for out in outputs]),
        std=np.array([out.std() for out in outputs]),
        zero_fraction=np.array([np.mean(out == 0) for out in outputs]),
        output_gradient_norm=np.array(output_gradient_norms, dtype=float),
        kernel_gradient_norm=np.array(kernel_gradient_norms, dtype=float),
        loss=loss,
    )


def _passes(model, x, y, training):
    outputs = []
    signal = x
    for layer in model.layers:
        signal = layer.forward(signal, training=training)
        outputs.append(signal)

    # The gradient the model itself starts from: with softmax + cross-entropy, d loss / dz of
    # the last layer's pre-activation, exact even where a probability rounds to 0 or 1.
    loss, gradient = model.loss_and_gradient(y, signal)
    output_gradient_norms = []
    for i, layer in enumerate(reversed(model.layers)):
        output_gradient_norms.append(np.linalg.norm(gradient))
        if i == 0 and model.fused_output:
            gradient = layer.pre_activation_backward(gradient)
        else:
            gradient = layer.backward(gradient)
        if gradient is None:   # the first layer skips d loss / d data
            break
    output_gradient_norms.reverse()
    return outputs, output_gradient_norms, float(loss)


def _kernel_gradient_norm(layer):
    grads = dict(zip(layer.param_names, layer.grads))
    return float(np.linalg.norm(grads["kernel"])) if "kernel" in grads else 0.0
