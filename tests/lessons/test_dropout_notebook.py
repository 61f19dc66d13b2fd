"""Notebook 06 (dropout): its exercises, experiments, figures and explorers."""
import copy
import subprocess
import sys
import warnings

import numpy as np
import pytest

from course_lib.layers import BatchNormalization, Dense, Dropout
from course_lib.lessons.dropout import exercises as ex
from course_lib.lessons.dropout import explorers, figures, runs
from course_lib.lessons.explorer import registry
from course_lib.lessons.figures import plot_seed_strip
from course_lib.model import Sequential


@pytest.fixture(autouse=True)
def no_warnings():
    """Checkers run learners' code (divisions by zero included): nothing may leak out."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ------------------------------------------------------------------ exercise 1: dropout

def test_dropout_reference_passes_and_matches_the_library_layer():
    assert ex.check_dropout(ex.dropout_forward_solution, ex.dropout_backward_solution).passed
    # The library draws u with its generator and drops where u < rate: same numbers, same answer.
    x = np.random.default_rng(0).normal(size=(5, 7))
    rate = 0.4
    layer = Dropout(rate, seed=3)
    out_layer = layer.forward(x, training=True)
    u = np.random.default_rng(3).random(x.shape)
    out, mask = ex.dropout_forward_solution(x, rate, u)
    assert np.allclose(out, out_layer) and np.allclose(mask, layer.mask)
    grad = np.random.default_rng(1).normal(size=x.shape)
    assert np.allclose(ex.dropout_backward_solution(grad, mask), layer.backward(grad))


def test_dropout_accepts_another_correct_split_of_the_work():
    """A boolean keep-mask with the scaling done in both passes is just as right."""
    def forward(x, rate, u, training=True):
        if not training:
            return x, None
        keep = u >= rate
        return np.where(keep, x / (1 - rate), 0.0), (keep, rate)

    def backward(grad_out, cache):
        if cache is None:
            return grad_out
        keep, rate = cache
        return np.where(keep, grad_out / (1 - rate), 0.0)

    assert ex.check_dropout(forward, backward).passed


def test_dropout_names_each_typical_slip_written_as_a_learner_would():
    def no_scale(x, rate, u, training=True):
        mask = (u >= rate) * 1.0 if training else np.ones_like(x)
        return x * mask, mask

    def rate_is_keep(x, rate, u, training=True):
        if not training:
            return x, np.ones_like(x)
        mask = (u < rate) / rate
        return x * mask, mask

    def good_forward(x, rate, u, training=True):
        return ex.dropout_forward_solution(x, rate, u, training)

    backward = ex.dropout_backward_solution
    assert "did not scale the kept ones" in ex.check_dropout(no_scale, backward).message
    assert "used rate as the keep probability" in ex.check_dropout(rate_is_keep, backward).message
    result = ex.check_dropout(good_forward, lambda g, mask: g)
    assert "backward pass lets the gradient through" in result.message


def test_dropout_unlisted_mistakes_get_the_first_difference_or_the_shape():
    def no_dropout_at_all(x, rate, u, training=True):
        return x, np.ones_like(x)

    result = ex.check_dropout(no_dropout_at_all, ex.dropout_backward_solution)
    assert not result.passed and "case 'rate 0.5, a batch of 2 x 4, training'" in result.message
    assert "your value" in result.message

    def transposed(x, rate, u, training=True):
        out, mask = ex.dropout_forward_solution(x, rate, u, training)
        return out.T, mask

    assert "shape" in ex.check_dropout(transposed, ex.dropout_backward_solution).message
    result = ex.check_dropout(ex.dropout_forward_solution, lambda g, mask: None)
    assert not result.passed and "forget the `return`" in result.message

    def only_out(x, rate, u, training=True):
        return ex.dropout_forward_solution(x, rate, u, training)[0]

    result = ex.check_dropout(only_out, ex.dropout_backward_solution)
    assert not result.passed and "must return a pair (out, mask)" in result.message


def test_dropout_cases_contain_units_on_the_threshold():
    case = next(c for c in ex.DROPOUT.cases if "exactly" in c.name)
    x, grad_out, rate, u, training = case.args
    assert np.sum(u == rate) >= 2


# ------------------------------------------------------------------ exercise 2: MC dropout

def test_mc_dropout_reference_passes_and_matches_the_library_passes():
    assert ex.check_mc_dropout_predict(ex.mc_dropout_predict_solution).passed
    model, x, n = ex.MC_DROPOUT.cases[0].args
    mean, std = ex.mc_dropout_predict_solution(copy.deepcopy(model), x, n)
    passes = runs.mc_dropout_passes(copy.deepcopy(model), x, n)
    assert np.allclose(mean, passes.mean(axis=0)) and np.allclose(std, passes.std(axis=0))
    assert np.all(std.max(axis=1) > 0)


def test_mc_dropout_accepts_another_correct_version():
    def by_hand(model, x, n_samples=100):
        total = None
        passes = []
        for _ in range(n_samples):
            p = model.predict(x, training=True).astype(np.float64)
            passes.append(p)
            total = p if total is None else total + p
        mean = total / n_samples
        std = np.sqrt(sum((p - mean) ** 2 for p in passes) / n_samples)
        return mean, std

    assert ex.check_mc_dropout_predict(by_hand).passed


def test_mc_dropout_unlisted_mistakes_get_useful_feedback():
    def one_pass_too_many(model, x, n_samples=100):
        passes = np.stack([model.predict(x, training=True) for _ in range(n_samples + 1)])
        return passes.mean(axis=0), passes.std(axis=0)

    result = ex.check_mc_dropout_predict(one_pass_too_many)
    assert not result.passed and result.message.startswith("result 0: case")

    def std_of_the_mean(model, x, n_samples=100):
        passes = np.stack([model.predict(x, training=True) for _ in range(n_samples)])
        mean = passes.mean(axis=0)
        return mean, mean.std(axis=0)

    result = ex.check_mc_dropout_predict(std_of_the_mean)
    assert not result.passed and "shape" in result.message

    def keras_style_call(model, x, n_samples=100):
        passes = np.stack([model(x, training=True) for _ in range(n_samples)])
        return passes.mean(axis=0), passes.std(axis=0)

    result = ex.check_mc_dropout_predict(keras_style_call)
    assert not result.passed and "raised TypeError" in result.message


def test_mc_dropout_cases_are_independent_of_earlier_checks():
    """Each check deep-copies the seeded models, so checking twice gives the same verdict."""
    assert ex.check_mc_dropout_predict(ex.mc_dropout_predict_solution).passed
    assert ex.check_mc_dropout_predict(ex.mc_dropout_predict_solution).passed


# ------------------------------------------------------------------ experiments

def test_runs_compute_without_the_drawing_libraries():
    """The experiments run where nothing is drawn (a script, a benchmark): importing them
    must not import matplotlib or ipywidgets."""
    code = ("import sys, course_lib.lessons.dropout.runs; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'ipywidgets'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


def test_regression_data_names_a_bad_seed():
    for bad in (-1, 1.5, True, "0"):
        with pytest.raises(ValueError, match="seed"):
            runs.regression_data(bad)


def test_the_moons_runs_are_notebook_05s():
    """One definition of the overfitting problem: this notebook reuses notebook 05's runs."""
    from course_lib.lessons.generalization import runs as generalization_runs
    assert runs.train_moons is generalization_runs.train_moons
    assert runs.train_moons(0.5, hidden=4) is generalization_runs.train_moons(0.5, hidden=4)


def test_regression_data_and_networks_follow_the_seed():
    x0, y0 = runs.regression_data(0)
    x1, _ = runs.regression_data(1)
    assert not np.allclose(x0, x1)
    assert runs.train_mc_regression(0.1, seed=1) is not runs.train_mc_regression(0.1, seed=0)
    assert runs.mc_grid_passes(0.1, 1).shape == (runs.MC_MAX_SAMPLES, len(runs.MC_GRID))


def test_digits_layers_have_dropout_before_every_dense_layer():
    kinds = [type(layer).__name__ for layer in runs.digits_layers(0.2)]
    assert kinds == ["Dropout", "Dense", "Dropout", "Dense", "Dropout", "Dense"]
    assert [type(layer).__name__ for layer in runs.digits_layers(0.0)] == ["Dense"] * 3
    assert runs.digits_layers(0.2)[0] is not runs.digits_layers(0.2)[0]   # new layers per call


def test_apply_dropout_masks_and_their_average():
    h = runs.layer_activations()
    out, mask = runs.apply_dropout(h, 0.25, seed=1)
    assert set(np.unique(mask)) <= {0.0, 1 / 0.75}
    assert np.allclose(out, h * mask)
    out0, mask0 = runs.apply_dropout(h, 0.0, seed=1)
    assert np.array_equal(out0, h) and np.all(mask0 == 1)
    average = runs.average_over_masks(h[0], 0.5, n_masks=4000, seed=2)
    assert np.allclose(average, h[0], rtol=0.1)


def test_mask_helpers_name_a_bad_argument():
    with pytest.raises(ValueError, match="n_masks"):
        runs.average_over_masks(runs.layer_activations()[0], 0.5, n_masks=0)
    with pytest.raises(ValueError, match="n_examples"):
        runs.layer_activations(n_examples=10_000)
    with pytest.raises(ValueError, match="rate"):
        runs.apply_dropout(runs.layer_activations(), 1.0, seed=0)


def test_mask_scale_levels_cover_every_rate():
    for rate in np.arange(0.0, 0.9001, 0.05):
        level = figures.mask_scale_level(rate)
        assert level in figures.MASK_SCALE_LEVELS and 1 / (1 - rate) <= level + 1e-9


def test_selu_statistics_alpha_dropout_keeps_the_normalization():
    means, variances = runs.selu_statistics("AlphaDropout", depth=15, n_samples=300)
    assert np.all(np.abs(means) < 0.06) and np.all(np.abs(variances - 1) < 0.12)
    means, variances = runs.selu_statistics("Dropout", depth=15, n_samples=300)
    assert variances[-1] > 1.5
    with pytest.raises(ValueError, match="kind"):
        runs.selu_statistics("dropout")


def test_selu_statistics_uses_the_same_weights_for_every_kind():
    none_1 = runs.selu_statistics("no dropout", depth=3, n_samples=50, rate=0.0)
    alpha_0 = runs.selu_statistics("AlphaDropout", depth=3, n_samples=50, rate=0.0)
    assert np.allclose(none_1, alpha_0)          # rate 0: alpha dropout is the identity


def _small_model(with_batchnorm=False):
    layers = [Dense(8, activation="relu", seed=1)]
    if with_batchnorm:
        layers.append(BatchNormalization())
    layers += [Dropout(0.3, seed=2), Dense(2, activation="softmax", seed=3)]
    return Sequential(layers, seed=0).build(3)


def test_mc_dropout_passes_equal_repeated_predict_without_batchnorm():
    x = np.random.default_rng(0).normal(size=(5, 3))
    a, b = _small_model(), _small_model()
    passes = runs.mc_dropout_passes(a, x, 7)
    expected = np.stack([b.predict(x, training=True) for _ in range(7)])
    assert passes.shape == (7, 5, 2) and np.allclose(passes, expected)
    assert np.all(passes.std(axis=0).max(axis=1) > 0)


def test_mc_dropout_passes_keep_batchnorm_in_inference_mode():
    """As Keras's MCDropout: only dropout is on; BatchNormalization uses its moving statistics."""
    x = np.random.default_rng(1).normal(size=(6, 3))
    model = _small_model(with_batchnorm=True)
    bn = model.layers[1]
    moving = [s.copy() for s in bn.state]
    passes = runs.mc_dropout_passes(model, x, 4)
    assert all(np.array_equal(s, m) for s, m in zip(bn.state, moving))   # untouched
    # By hand: Dense, BN at inference, dropout with the layer's own masks, Dense.
    reference = _small_model(with_batchnorm=True)
    for p in passes:
        out = x.astype(np.float32)
        for layer in reference.layers:
            out = layer.forward(out, training=isinstance(layer, Dropout))
        assert np.allclose(p, out)
    model.predict(x, training=True)          # whereas training=True for the model moves them
    assert not np.allclose(bn.state[0], moving[0])


def test_mc_dropout_passes_validates_its_arguments():
    model = _small_model()
    with pytest.raises(TypeError):
        runs.mc_dropout_passes("model", np.zeros((2, 3)))
    with pytest.raises(ValueError, match="built"):
        runs.mc_dropout_passes(Sequential([Dense(2), Dropout(0.1)]), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="3 features"):
        runs.mc_dropout_passes(model, np.zeros((2, 4)))
    with pytest.raises(ValueError):
        runs.mc_dropout_passes(model, np.zeros((2, 3)), n_samples=0)


def test_mc_predictions_are_the_mean_and_the_std_of_the_predicted_class():
    x = np.random.default_rng(2).normal(size=(6, 3))
    proba, predicted, uncertainty = runs.mc_predictions(_small_model(), x, 9)
    passes = runs.mc_dropout_passes(_small_model(), x, 9)        # the same masks
    assert np.allclose(proba, passes.mean(axis=0))
    assert np.array_equal(predicted, passes.mean(axis=0).argmax(axis=1))
    assert np.allclose(uncertainty, passes.std(axis=0)[np.arange(6), predicted])


def test_refusal_curve_by_hand():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])   # predictions 0, 1, 0, 1
    y = np.array([0, 1, 1, 0])                                           # the last two wrong
    uncertainty = np.array([0.1, 0.2, 0.5, 0.4])
    acc = runs.refusal_curve(probs, uncertainty, y, [1.0, 0.75, 0.5, 0.25])
    # keep all: 2/4; the 3 least uncertain (0, 1, 3): 2/3; the 2 least uncertain: 1; one: 1
    assert np.allclose(acc, [0.5, 2 / 3, 1.0, 1.0])
    ties = runs.refusal_curve(probs, np.zeros(4), y, [0.5])               # ties keep the earlier
    assert np.allclose(ties, [1.0])
    with pytest.raises(ValueError):
        runs.refusal_curve(probs, uncertainty[:3], y, [1.0])
    with pytest.raises(ValueError):
        runs.refusal_curve(probs, uncertainty, y, [0.0])


# ------------------------------------------------------------------ explorers

def test_explorers_are_registered_with_their_budgets():
    specs = {s.name: s for s in registry() if s.notebook == explorers.NOTEBOOK}
    assert set(specs) == {"dropout_explorer", "mask_explorer", "mc_dropout_explorer"}
    assert specs["dropout_explorer"].retraining and specs["mc_dropout_explorer"].retraining
    assert not specs["mask_explorer"].retraining


def test_mask_explorer_draws_the_layer_and_its_mask():
    explorer = explorers.mask_explorer()
    explorer.update(rate=0.5, seed=4)
    drawn = explorer.drawn_data()
    assert set(np.unique(drawn["mask"])) <= {0.0, 2.0}
    assert np.allclose(drawn["after"], drawn["before"] * drawn["mask"][0])
    assert np.allclose(drawn["batch_after"], runs.layer_activations() * drawn["mask"])
    assert explorer.layout == 2.0 and "1/(1 - 0.50) = 2.00" in explorer.status.value
    image = explorer.panels.image
    assert image.colorbar is not None                              # the heatmap's colour bar
    assert np.allclose(image.get_array().compressed(),
                       runs.layer_activations()[drawn["mask"] != 0])   # coloured by activation
    explorer.update(rate=0.9)
    assert explorer.layout == 10.0
    assert np.max(explorer.drawn_data()["after"]) < explorer.panels.ax_bars.get_ylim()[1]


def test_mask_explorer_blitted_image_matches_a_full_redraw():
    explorer = explorers.mask_explorer()
    explorer.update(rate=0.35, seed=7)
    blitted = np.asarray(explorer.canvas.buffer_rgba()).copy()
    for artist in explorer.dynamic:
        artist.set_animated(False)
    explorer.canvas.draw()
    full = np.asarray(explorer.canvas.buffer_rgba())
    differing = np.mean(np.any(blitted != full, axis=-1))
    assert differing < 0.01


def test_mc_explorer_changes_of_passes_do_not_retrain():
    explorer = explorers.mc_dropout_explorer()
    explorer.redraw()                                # the first draw trains the rate-0.1 network
    model, all_passes = runs.train_mc_regression(0.1), runs.mc_grid_passes(0.1)
    for n in (1, 2, 37, 200):
        explorer.update(n_samples=n)
        drawn = explorer.drawn_data()
        passes = runs.mc_grid_passes(0.1)[:n]
        assert np.allclose(drawn["mean"], passes.mean(axis=0))
        assert np.allclose(drawn["std"], passes.std(axis=0))
    # Still the very same network and passes: nothing was trained or drawn again.
    assert runs.train_mc_regression(0.1) is model and runs.mc_grid_passes(0.1) is all_passes
    explorer.update(n_samples=1)
    assert np.all(explorer.drawn_data()["std"] == 0)
    assert explorer.layout == 0.1


def test_mc_grid_passes_are_independent_passes():
    passes = runs.mc_grid_passes(0.1)
    assert passes.shape == (runs.MC_MAX_SAMPLES, len(runs.MC_GRID))
    assert not np.allclose(passes[0], passes[1])
    near, far = runs.near_and_far()
    assert passes.std(axis=0)[far].mean() > passes.std(axis=0)[near].mean()


def test_dropout_explorer_draws_the_cached_runs():
    explorer = explorers.dropout_explorer(rate=0.5)
    explorer.redraw()
    drawn = explorer.drawn_data()
    run, baseline = runs.train_moons(0.5), runs.train_moons(0.0)
    assert np.allclose(drawn["train_loss"], run.train_loss)
    assert np.allclose(drawn["logged_loss"], run.logged_loss)
    assert np.allclose(drawn["baseline_gap"], baseline.gap)
    assert drawn["region_probabilities"].shape == (100 * 100, 2)
    explorer.update(rate=0.0)
    drawn = explorer.drawn_data()
    assert "baseline_gap" not in drawn and "logged_loss" not in drawn
    assert np.allclose(drawn["gap"], baseline.gap)
    assert "gap" in explorer.status.value


@pytest.mark.parametrize("rate", [0.0, 0.8])
def test_dropout_explorer_fixed_axes_hold_the_curves(rate):
    """The explorer's axes are fixed (cached background): the curves must fit inside them."""
    explorer = explorers.dropout_explorer(rate=rate)
    explorer.redraw()
    loss_top = explorer.curves.ax_loss.get_ylim()[1]
    gap_low, gap_top = explorer.curves.ax_gap.get_ylim()
    run = runs.train_moons(rate)
    assert max(run.train_loss.max(), run.val_loss.max(), run.logged_loss.max()) < loss_top
    assert gap_low <= run.gap.min() and run.gap.max() < gap_top


def test_dropout_explorer_draws_the_runs_of_its_seed():
    explorer = explorers.dropout_explorer(rate=0.5, seed=2)
    explorer.redraw()
    drawn = explorer.drawn_data()
    assert np.allclose(drawn["train_loss"], runs.train_moons(0.5, seed=2).train_loss)
    assert np.allclose(drawn["baseline_gap"], runs.train_moons(0.0, seed=2).gap)
    assert not np.allclose(drawn["train_loss"], runs.train_moons(0.5, seed=0).train_loss)


# ------------------------------------------------------------------ figures over seeds

@pytest.fixture
def axes():
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    return Figure().subplots(1, 2)


def test_strip_plot_draws_every_seed_and_the_median(axes):
    values = {"none": [0.3, 0.2, 0.4, 0.25, 0.35], "l1": [0.5, 0.4, 0.45, 0.6, 0.55]}
    spreads = plot_seed_strip(axes[0], values, ylabel="validation loss")
    assert spreads["none"].median == pytest.approx(0.3)
    assert spreads["l1"].median == pytest.approx(0.5)
    dots = [line for line in axes[0].get_lines() if line.get_marker() == "o"]
    assert [sorted(d.get_ydata()) for d in dots] == [sorted(v) for v in values.values()]
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["none", "l1"]


def test_layer_statistics_and_refusal_curves_summarise_over_seeds(axes):
    means = np.array([[0.0, 0.1], [0.2, 0.3], [0.4, 0.5]])
    spreads = figures.plot_layer_statistics(axes[0], axes[1], {"Dropout": (means, 1 + means)})
    assert np.allclose(spreads["Dropout"][0].median, [0.2, 0.3])
    assert np.allclose(spreads["Dropout"][1].median, [1.2, 1.3])
    curves = np.array([[0.9, 1.0], [0.8, 0.9], [0.95, 1.0]])
    refusal = figures.plot_refusal_curve(axes[0], [1.0, 0.5], {"by std": curves})
    assert np.allclose(refusal["by std"].median, [0.9, 1.0])
