"""Tests of course_lib.data: the shipped digits, generators, splits, scaling, one-hot."""
import hashlib
import math

import numpy as np
import pytest

from course_lib import data
from course_lib.data import (
    Split,
    Standardizer,
    digits_splits,
    load_digits,
    make_blobs,
    make_moons,
    make_regression_1d,
    make_spirals,
    one_hot,
    train_val_test_split,
    true_function,
)

# SHA-256 of the raw bytes of the arrays stored in course_lib/datasets/digits.npz, recorded
# when the file was made. If the file changes, every number printed by the course changes.
DIGITS_IMAGES_SHA256 = "8f26b2bd9d135c256808f68f14fdabddde6d9c7f869ae419704b051f0f14b3b3"
DIGITS_TARGET_SHA256 = "8ba4f891220f5e4c9c819638d1602d74b83618f167043c6da52a2a247841ddf0"
N_DIGITS = 1797


def sha256_of(array):
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


# --------------------------------------------------------------------------- the file

def test_digits_file_layout_and_checksum():
    with np.load(data.DIGITS_PATH) as archive:
        assert sorted(archive.files) == ["images", "target"]
        images, target = archive["images"], archive["target"]
    assert images.shape == (N_DIGITS, 8, 8) and images.dtype == np.uint8
    assert target.shape == (N_DIGITS,) and target.dtype == np.uint8
    assert images.min() == 0 and images.max() == 16
    assert sha256_of(images) == DIGITS_IMAGES_SHA256
    assert sha256_of(target) == DIGITS_TARGET_SHA256


def test_digits_file_is_small():
    assert data.DIGITS_PATH.stat().st_size < 100_000


def test_digits_file_matches_scikit_learn_copy():
    datasets = pytest.importorskip("sklearn.datasets")
    reference = datasets.load_digits()
    with np.load(data.DIGITS_PATH) as archive:
        np.testing.assert_array_equal(archive["images"], reference.images)
        np.testing.assert_array_equal(archive["target"], reference.target)


# --------------------------------------------------------------------------- load_digits

def test_load_digits_shapes_dtypes_and_scale():
    x, y = load_digits()
    assert x.shape == (N_DIGITS, 64) and x.dtype == np.float32
    assert y.shape == (N_DIGITS,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    # Scaled by exactly 1/16: multiplying back gives the integer counts 0..16.
    counts = x * 16
    np.testing.assert_array_equal(counts, np.round(counts))
    with np.load(data.DIGITS_PATH) as archive:
        np.testing.assert_array_equal(counts.reshape(-1, 8, 8), archive["images"])
        np.testing.assert_array_equal(y, archive["target"])


def test_digits_labels_are_0_to_9_about_180_each():
    _, y = load_digits()
    assert set(np.unique(y)) == set(range(10))
    per_class = np.bincount(y)
    assert per_class.sum() == N_DIGITS
    assert np.all(np.abs(per_class - 180) <= 10)


def test_load_digits_images_match_rows():
    x, y, images = load_digits(return_images=True)
    assert images.shape == (N_DIGITS, 8, 8) and images.dtype == np.float32
    np.testing.assert_array_equal(images.reshape(N_DIGITS, 64), x)
    # Row-major: pixel (row 2, column 3) is feature 2 * 8 + 3.
    np.testing.assert_array_equal(images[:, 2, 3], x[:, 19])


def test_load_digits_returns_fresh_arrays():
    x, y = load_digits()
    x[:] = -1.0
    y[:] = -1
    x2, y2 = load_digits()
    assert x2.min() == 0.0 and y2.min() == 0


def test_load_digits_rejects_non_bool():
    with pytest.raises(TypeError, match="return_images"):
        load_digits(return_images="yes")


# --------------------------------------------------------------------------- train_val_test_split

def test_split_is_disjoint_covers_all_and_keeps_pairs():
    n = 101
    x = np.arange(n)
    y = 10 * np.arange(n)
    split = train_val_test_split(x, y, val_fraction=0.2, test_fraction=0.1, seed=3)
    assert isinstance(split, Split)
    parts = [split.x_train, split.x_val, split.x_test]
    # round(101 * 0.2) = 20 and round(101 * 0.1) = 10; training gets the other 71.
    assert [len(p) for p in parts] == [71, 20, 10]
    together = np.concatenate(parts)
    assert len(np.unique(together)) == n
    np.testing.assert_array_equal(np.sort(together), x)
    for xs, ys in [(split.x_train, split.y_train), (split.x_val, split.y_val),
                   (split.x_test, split.y_test)]:
        np.testing.assert_array_equal(ys, 10 * xs)


def test_split_is_shuffled():
    split = train_val_test_split(np.arange(200), np.arange(200), seed=0)
    assert not np.array_equal(split.x_train, np.sort(split.x_train))


def test_split_reproducible_and_seed_dependent():
    x = np.arange(300).reshape(100, 3)
    y = np.arange(100)
    a = train_val_test_split(x, y, seed=7)
    b = train_val_test_split(x, y, seed=7)
    c = train_val_test_split(x, y, seed=8)
    for left, right in zip(a, b):
        np.testing.assert_array_equal(left, right)
    assert not np.array_equal(a.y_train, c.y_train)


def test_split_accepts_a_generator():
    x = np.arange(50)
    a = train_val_test_split(x, x, seed=np.random.default_rng(5))
    b = train_val_test_split(x, x, seed=np.random.default_rng(5))
    np.testing.assert_array_equal(a.x_test, b.x_test)


def test_split_with_zero_validation_fraction():
    split = train_val_test_split(np.arange(20), np.arange(20), val_fraction=0.0,
                                 test_fraction=0.25, seed=0)
    assert len(split.x_val) == 0 and len(split.x_test) == 5 and len(split.x_train) == 15


def test_stratified_split_keeps_class_proportions():
    # 600 examples in three classes of 300, 200 and 100.
    y = np.repeat([0, 1, 2], [300, 200, 100])
    x = np.arange(len(y))
    for seed in range(5):
        split = train_val_test_split(x, y, val_fraction=0.15, test_fraction=0.15,
                                     seed=seed, stratify=True)
        # 600 * 0.15 = 90 exactly: 45, 30 and 15 of each class in validation and test.
        np.testing.assert_array_equal(np.bincount(split.y_val), [45, 30, 15])
        np.testing.assert_array_equal(np.bincount(split.y_test), [45, 30, 15])
        np.testing.assert_array_equal(np.bincount(split.y_train), [210, 140, 70])
        np.testing.assert_array_equal(y[split.x_train], split.y_train)
        np.testing.assert_array_equal(np.sort(np.concatenate(split[::2])), x)


def test_stratified_split_keeps_a_rare_class_in_every_part():
    # 95 of class 0 and 5 of class 1: a 20% test part must hold exactly 1 of the rare class.
    y = np.array([0] * 95 + [1] * 5)
    for seed in range(10):
        split = train_val_test_split(np.arange(100), y, val_fraction=0.2, test_fraction=0.2,
                                     seed=seed, stratify=True)
        assert np.sum(split.y_test == 1) == 1
        assert np.sum(split.y_val == 1) == 1
        assert np.sum(split.y_train == 1) == 3


def test_stratified_split_with_uneven_shares_is_within_two_of_exact():
    x, y = load_digits()
    split = train_val_test_split(x, y, val_fraction=0.15, test_fraction=0.15, seed=1,
                                 stratify=True)
    # Stratifying does not change the sizes: round(1797 * 0.15) = round(269.55) = 270.
    assert (len(split.y_train), len(split.y_val), len(split.y_test)) == (1257, 270, 270)
    per_class = np.bincount(y)
    for part, fraction in [(split.y_val, 0.15), (split.y_test, 0.15), (split.y_train, 0.70)]:
        assert np.all(np.abs(np.bincount(part, minlength=10) - fraction * per_class) < 2)


@pytest.mark.parametrize("kwargs, pattern", [
    ({"val_fraction": -0.1}, r"val_fraction.*-0\.1"),
    ({"test_fraction": 1.0}, r"test_fraction.*1\.0"),
    ({"val_fraction": 0.5, "test_fraction": 0.5}, r"val_fraction \+ test_fraction"),
])
def test_split_rejects_bad_fractions(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        train_val_test_split(np.arange(10), np.arange(10), **kwargs)


def test_split_rejects_mismatched_lengths_and_empty_training():
    with pytest.raises(ValueError, match="same number of examples"):
        train_val_test_split(np.arange(10), np.arange(9))
    with pytest.raises(ValueError, match="no training example"):
        train_val_test_split(np.arange(2), np.arange(2), val_fraction=0.4, test_fraction=0.4)
    with pytest.raises(ValueError, match="stratify"):
        train_val_test_split(np.arange(10), np.zeros((10, 3)), stratify=True)


# --------------------------------------------------------------------------- Standardizer

def test_standardizer_by_hand():
    x_train = np.array([[1.0, 5.0], [3.0, 5.0]])
    scaler = Standardizer().fit(x_train)
    # Column 0: mean 2, population std 1. Column 1 is constant: mean 5, scale 1.
    np.testing.assert_allclose(scaler.mean_, [2.0, 5.0])
    np.testing.assert_allclose(scaler.scale_, [1.0, 1.0])
    np.testing.assert_allclose(scaler.transform(x_train), [[-1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(scaler.transform([[4.0, 7.0]]), [[2.0, 2.0]])
    np.testing.assert_allclose(scaler.inverse_transform([[2.0, 2.0]]), [[4.0, 7.0]])


def test_standardizer_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    x_train = rng.normal(3.0, 2.0, size=(200, 4))
    x_val = rng.normal(3.0, 2.0, size=(50, 4))
    scaler = Standardizer()
    z_train = scaler.fit_transform(x_train)
    z_val = scaler.transform(x_val)
    np.testing.assert_allclose(z_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z_train.std(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(scaler.mean_, x_train.mean(axis=0))
    # Validation data is scaled with the training statistics, not its own.
    np.testing.assert_allclose(z_val, (x_val - x_train.mean(axis=0)) / x_train.std(axis=0))
    assert np.all(np.abs(z_val.mean(axis=0)) > 1e-6)
    assert np.all(np.abs(z_val.std(axis=0) - 1.0) > 1e-6)


def test_standardizer_constant_column_gets_scale_one_without_warnings():
    x_train = np.column_stack([np.full(10, 0.3, dtype=np.float32),
                               np.arange(10, dtype=np.float32)])
    scaler = Standardizer().fit(x_train)
    assert scaler.scale_[0] == 1.0
    z = scaler.transform(x_train)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z[:, 0], 0.0, atol=1e-7)
    assert np.all(np.isfinite(z))


def test_standardizer_keeps_float32_and_converts_ints():
    scaler = Standardizer().fit(np.array([[0, 2], [2, 4]]))
    assert scaler.transform(np.ones((3, 2), dtype=np.float32)).dtype == np.float32
    assert scaler.transform(np.ones((3, 2), dtype=np.int64)).dtype == np.float64


def test_standardizer_errors():
    with pytest.raises(RuntimeError, match="not fitted"):
        Standardizer().transform(np.ones((2, 2)))
    scaler = Standardizer().fit(np.ones((3, 2)))
    with pytest.raises(ValueError, match="2 features"):
        scaler.transform(np.ones((3, 5)))
    with pytest.raises(ValueError, match="x_train"):
        Standardizer().fit(np.ones(5))
    with pytest.raises(ValueError, match="x_train"):
        Standardizer().fit(np.array([[1.0, np.nan]]))


# --------------------------------------------------------------------------- digits_splits

def test_digits_splits_is_the_standard_split():
    split = digits_splits()
    assert [len(a) for a in split] == [1257, 1257, 270, 270, 270, 270]
    assert all(a.dtype == np.float32 for a in split[::2])
    assert all(a.dtype == np.int64 for a in split[1::2])
    again = digits_splits()
    for left, right in zip(split, again):
        np.testing.assert_array_equal(left, right)
    # Stratified: 27 +- 1 of each digit in validation and test (270 / 10).
    for labels in (split.y_val, split.y_test):
        assert np.all(np.abs(np.bincount(labels, minlength=10) - 27) <= 1)


def test_digits_splits_partitions_the_dataset():
    x, y = load_digits()
    split = digits_splits(standardize=False)
    rows = np.concatenate([split.x_train, split.x_val, split.x_test])
    labels = np.concatenate([split.y_train, split.y_val, split.y_test])
    # Same multiset of (image, label) rows as the whole dataset.
    whole = np.column_stack([x, y])
    parts = np.column_stack([rows, labels])
    np.testing.assert_array_equal(np.unique(whole, axis=0), np.unique(parts, axis=0))
    assert len(parts) == len(whole)


def test_digits_splits_standardized_with_training_statistics():
    raw = digits_splits(standardize=False)
    split = digits_splits()
    mean = raw.x_train.astype(np.float64).mean(axis=0)
    std = raw.x_train.astype(np.float64).std(axis=0)
    constant = raw.x_train.max(axis=0) == raw.x_train.min(axis=0)
    assert constant.any()  # the digits have always-blank pixels
    scale = np.where(constant, 1.0, std)
    np.testing.assert_allclose(split.x_train, (raw.x_train - mean) / scale, atol=1e-5)
    np.testing.assert_allclose(split.x_val, (raw.x_val - mean) / scale, atol=1e-5)
    np.testing.assert_allclose(split.x_train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(split.x_train.std(axis=0)[~constant], 1.0, rtol=1e-4)


def test_digits_splits_n_train_is_a_prefix_and_leaves_val_test_alone():
    full = digits_splits()
    small = digits_splits(n_train=50)
    assert len(small.x_train) == 50 and len(small.y_train) == 50
    np.testing.assert_array_equal(small.x_train, full.x_train[:50])
    np.testing.assert_array_equal(small.y_train, full.y_train[:50])
    np.testing.assert_array_equal(small.x_val, full.x_val)
    np.testing.assert_array_equal(small.x_test, full.x_test)


def test_digits_splits_other_seed_differs():
    assert not np.array_equal(digits_splits(seed=1).y_test, digits_splits().y_test)


@pytest.mark.parametrize("n_train", [0, -3, 1258])
def test_digits_splits_rejects_bad_n_train(n_train):
    with pytest.raises(ValueError, match=f"n_train.*{n_train}"):
        digits_splits(n_train=n_train)


# --------------------------------------------------------------------------- generators

GENERATORS = {
    "moons": (make_moons, {}),
    "spirals": (make_spirals, {"n_classes": 4}),
    "blobs": (make_blobs, {"n_classes": 5}),
}


@pytest.mark.parametrize("name", GENERATORS)
def test_classification_generators_shapes_and_balance(name):
    make, kwargs = GENERATORS[name]
    n_classes = kwargs.get("n_classes", 2)
    x, y = make(n_samples=103, seed=0, **kwargs)
    assert x.shape == (103, 2) and x.dtype == np.float64
    assert y.shape == (103,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=n_classes)
    assert len(counts) == n_classes
    assert counts.max() - counts.min() <= 1 and counts.sum() == 103
    assert np.all(np.isfinite(x))
    # The classes are mixed, not in one block per class.
    assert np.any(np.diff(y) < 0)


@pytest.mark.parametrize("name", GENERATORS)
def test_classification_generators_reproducible(name):
    make, kwargs = GENERATORS[name]
    x1, y1 = make(seed=11, **kwargs)
    x2, y2 = make(seed=11, **kwargs)
    x3, _ = make(seed=12, **kwargs)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(x1, x3)


def test_make_regression_1d_reproducible():
    a = make_regression_1d(seed=4)
    b = make_regression_1d(seed=4)
    c = make_regression_1d(seed=5)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.allclose(a[0], c[0])


def test_generators_do_not_touch_global_state():
    np.random.seed(0)
    expected = np.random.random()
    np.random.seed(0)
    make_moons(seed=1)
    make_spirals(seed=None)
    make_regression_1d(seed=2)
    assert np.random.random() == expected


def test_moons_without_noise_lie_on_their_half_circles():
    x, y = make_moons(n_samples=200, noise=0.0, seed=0)
    upper, lower = x[y == 0], x[y == 1]
    # Class 0: the upper half of the unit circle.
    np.testing.assert_allclose(upper[:, 0] ** 2 + upper[:, 1] ** 2, 1.0)
    assert np.all(upper[:, 1] >= 0)
    # Class 1: the lower half of the unit circle centred at (1, 0.5).
    np.testing.assert_allclose((lower[:, 0] - 1) ** 2 + (lower[:, 1] - 0.5) ** 2, 1.0)
    assert np.all(lower[:, 1] <= 0.5)


def test_moons_noise_has_the_requested_size():
    x, y = make_moons(n_samples=4000, noise=0.3, seed=0)
    upper = x[y == 0]
    # For noise far below the radius, the distance to the circle spreads with sd ~ noise.
    radial = np.hypot(upper[:, 0], upper[:, 1]) - 1.0
    assert 0.25 < radial.std() < 0.35


def test_spirals_without_noise_follow_their_arms():
    n_classes = 3
    x, y = make_spirals(n_samples=300, n_classes=n_classes, noise=0.0, seed=0)
    r = np.hypot(x[:, 0], x[:, 1])
    assert r.max() <= 1.0 + 1e-12
    far = r > 1e-9
    angle = np.arctan2(x[far, 1], x[far, 0])
    expected = 2 * np.pi * y[far] / n_classes + 1.5 * np.pi * r[far]
    # Equal angles modulo a full turn.
    np.testing.assert_allclose(np.cos(angle - expected), 1.0, atol=1e-9)


def test_blobs_without_spread_are_their_centres():
    x, y = make_blobs(n_samples=40, n_classes=4, spread=0.0, seed=0)
    centres = np.array([x[y == k][0] for k in range(4)])
    for k in range(4):
        np.testing.assert_allclose(x[y == k], np.broadcast_to(centres[k], (10, 2)))
    # Four centres on a circle (a square), neighbours 5 apart: radius 5 / sqrt(2).
    np.testing.assert_allclose(np.hypot(centres[:, 0], centres[:, 1]), 5 / math.sqrt(2))
    np.testing.assert_allclose(np.linalg.norm(centres[0] - centres[1]), 5.0)


def test_blobs_spread_is_the_standard_deviation():
    x, y = make_blobs(n_samples=6000, n_classes=3, spread=0.7, seed=1)
    for k in range(3):
        np.testing.assert_allclose(x[y == k].std(axis=0), 0.7, rtol=0.06)


def test_true_function_by_hand():
    assert true_function(0.0) == 0.0
    # sin(1.5 * pi/3) + 0.3 * pi/3 = sin(pi/2) + 0.1 pi = 1 + 0.1 pi
    np.testing.assert_allclose(true_function(np.pi / 3), 1 + 0.1 * np.pi)
    assert true_function(np.zeros((4, 1))).shape == (4, 1)


def test_regression_1d_shapes_and_noiseless_values():
    x, y = make_regression_1d(n_samples=50, noise=0.0, x_range=(-2, 5), seed=0)
    assert x.shape == (50, 1) and y.shape == (50, 1)
    assert np.all((x >= -2) & (x <= 5))
    np.testing.assert_allclose(y, np.sin(1.5 * x) + 0.3 * x)


def test_regression_1d_noise_level():
    x, y = make_regression_1d(n_samples=5000, noise=0.5, seed=0)
    assert 0.47 < np.std(y - true_function(x)) < 0.53


def test_regression_1d_gap_width_is_centred():
    x, _ = make_regression_1d(n_samples=2000, gap=2.0, x_range=(-3, 3), seed=0)
    assert not np.any((x > -1) & (x < 1))
    # Both sides of the gap get data, in proportion to their lengths (2 and 2).
    assert 900 < np.sum(x <= -1) < 1100
    assert np.all((x >= -3) & (x <= 3))


def test_regression_1d_gap_interval():
    x, _ = make_regression_1d(n_samples=2000, gap=(0.5, 2.0), x_range=(-3, 3), seed=0)
    assert not np.any((x > 0.5) & (x < 2.0))
    # Left side is 3.5 long, right side 1.0: 3.5 / 4.5 of the data on the left.
    assert abs(np.mean(x <= 0.5) - 3.5 / 4.5) < 0.04


@pytest.mark.parametrize("call, exc, pattern", [
    (lambda: make_moons(n_samples=-5), ValueError, r"n_samples.*-5"),
    (lambda: make_moons(n_samples=1), ValueError, r"n_samples.*1"),
    (lambda: make_moons(noise=-0.1), ValueError, r"noise.*-0\.1"),
    (lambda: make_moons(n_samples=2.5), TypeError, r"n_samples.*2\.5"),
    (lambda: make_moons(seed=-1), TypeError, r"seed.*-1"),
    (lambda: make_spirals(n_samples=-5), ValueError, r"n_samples.*-5"),
    (lambda: make_spirals(noise=-1.0), ValueError, r"noise.*-1\.0"),
    (lambda: make_spirals(n_classes=1), ValueError, r"n_classes.*1"),
    (lambda: make_spirals(n_samples=2, n_classes=3), ValueError, r"n_samples.*2"),
    (lambda: make_blobs(n_samples=-5), ValueError, r"n_samples.*-5"),
    (lambda: make_blobs(n_classes=0), ValueError, r"n_classes.*0"),
    (lambda: make_blobs(spread=-1.0), ValueError, r"spread.*-1\.0"),
    (lambda: make_regression_1d(n_samples=-5), ValueError, r"n_samples.*-5"),
    (lambda: make_regression_1d(noise=-0.5), ValueError, r"noise.*-0\.5"),
    (lambda: make_regression_1d(x_range=(3, -3)), ValueError, r"x_range.*\(3, -3\)"),
    (lambda: make_regression_1d(gap=6.0), ValueError, r"gap.*6\.0"),
    (lambda: make_regression_1d(gap=(-4, 0)), ValueError, r"gap.*\(-4, 0\)"),
    (lambda: make_regression_1d(gap=(1, 0)), ValueError, r"gap.*\(1, 0\)"),
    (lambda: make_regression_1d(x_range=5), TypeError, r"x_range.*5"),
])
def test_generators_validate_arguments(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


# --------------------------------------------------------------------------- one_hot

def test_one_hot_by_hand():
    expected = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1], [0, 1, 0]], dtype=np.float32)
    result = one_hot([1, 0, 2, 1])
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, expected)
    np.testing.assert_array_equal(one_hot(np.array([[1], [0]]), num_classes=4),
                                  [[0, 1, 0, 0], [1, 0, 0, 0]])
    np.testing.assert_array_equal(one_hot(np.array([2.0, 0.0])), [[0, 0, 1], [1, 0, 0]])


def test_one_hot_round_trip_on_digits():
    _, y = load_digits()
    encoded = one_hot(y, 10)
    np.testing.assert_array_equal(encoded.sum(axis=1), 1.0)
    np.testing.assert_array_equal(encoded.argmax(axis=1), y)


@pytest.mark.parametrize("labels, num_classes, pattern", [
    ([0, 3], 3, r"0\.\.2.*got 3"),
    ([0, -1], 3, r"got -1"),
    ([0, -1], None, r"got -1"),
    ([0.5, 1.0], None, r"integer.*0\.5"),
    (np.zeros((2, 3), dtype=int), None, r"shape \(2, 3\)"),
    ([0, 1], 0, r"num_classes.*0"),
])
def test_one_hot_rejects_bad_labels(labels, num_classes, pattern):
    with pytest.raises(ValueError, match=pattern):
        one_hot(labels, num_classes)
