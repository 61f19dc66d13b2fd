"""The exercise mechanism and the first notebook's warm-up exercise."""
import numpy as np
import pytest

from course_lib.lessons.exercise import Case, Exercise, Mistake
from course_lib.lessons.start.exercises import check_standardize, standardize_reference


def square(x):
    return np.asarray(x) ** 2


SQUARE = Exercise("square", square, [Case("small", (np.arange(4.0),))],
                  mistakes=[Mistake("you doubled instead of squaring.", lambda x: 2 * np.asarray(x))])


def test_reference_passes_and_stub_gets_a_start_hint():
    assert SQUARE.check(square).passed

    def stub(x):
        raise NotImplementedError

    result = SQUARE.check(stub)
    assert not result.passed and "not implemented yet" in result.message


def test_known_mistake_gets_its_explanation():
    result = SQUARE.check(lambda x: 2 * np.asarray(x))
    assert not result.passed and result.message == "you doubled instead of squaring."


def test_unknown_error_names_the_case_index_and_values():
    result = SQUARE.check(lambda x: np.asarray(x) ** 2 + (np.arange(4) == 3))
    assert "case 'small' at index (3,): expected 9, got 10" in result.message
    assert "shape" in SQUARE.check(lambda x: np.asarray(x)[:2] ** 2).message
    assert "raised ZeroDivisionError" in SQUARE.check(lambda x: 1 / 0).message
    assert "NaN" in SQUARE.check(lambda x: np.full(4, np.nan)).message


def test_learner_cannot_corrupt_the_cases():
    def mutating(x):
        x *= 0
        return x

    SQUARE.check(mutating)
    assert SQUARE.check(square).passed


def test_standardize_accepts_the_reference_and_an_equivalent_solution():
    assert check_standardize(standardize_reference).passed

    def other(x_train, x_test):
        mean = np.mean(x_train, axis=0, keepdims=True)
        std = np.sqrt(np.mean((x_train - mean) ** 2, axis=0, keepdims=True))
        std[std == 0] = 1
        return (x_train - mean) / std, (x_test - mean) / std

    assert check_standardize(other).passed


def test_standardize_rejects_typical_mistakes_with_specific_feedback():
    def own_stats(a, b):
        return ((a - a.mean(0)) / np.where(a.std(0) > 0, a.std(0), 1),
                (b - b.mean(0)) / np.where(b.std(0) > 0, b.std(0), 1))

    def pooled(a, b):
        both = np.concatenate([a, b])
        m, s = both.mean(0), np.where(both.std(0) > 0, both.std(0), 1)
        return (a - m) / s, (b - m) / s

    def global_stats(a, b):
        return (a - a.mean()) / a.std(), (b - a.mean()) / a.std()

    def variance(a, b):
        v = np.where(a.var(0) > 0, a.var(0), 1)
        return (a - a.mean(0)) / v, (b - a.mean(0)) / v

    def no_guard(a, b):
        with np.errstate(all="ignore"):
            return (a - a.mean(0)) / a.std(0), (b - a.mean(0)) / a.std(0)

    def only_centre(a, b):
        return a - a.mean(0), b - a.mean(0)

    def one_output(a, b):
        return standardize_reference(a, b)[1]

    expectations = [(own_stats, "its own statistics"), (pooled, "together"),
                    (global_stats, "per feature"), (variance, "variance"),
                    (no_guard, "zero spread"), (only_centre, "expected"),
                    (one_output, "expected 2 results")]
    for wrong, phrase in expectations:
        result = check_standardize(wrong)
        assert not result.passed, wrong.__name__
        assert phrase in result.message, (wrong.__name__, result.message)


def _all_exercises():
    """Every Exercise defined in the ``exercises`` module of a topic of course_lib.lessons."""
    import importlib
    import pkgutil

    import course_lib.lessons as package
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        if not info.ispkg:
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}.exercises")
        for name, value in vars(module).items():
            if isinstance(value, Exercise):
                found.append(pytest.param(value, id=f"{info.name}.{name}"))
    return found


@pytest.mark.parametrize("exercise", _all_exercises())
def test_every_exercise_accepts_its_reference_and_explains_each_listed_mistake(exercise):
    # The contract of every checker in the course, for exercises present and future.
    assert exercise.check(exercise.reference).passed, exercise.title
    assert exercise.mistakes, f"{exercise.title} lists no typical mistake"
    for mistake in exercise.mistakes:
        with np.errstate(all="ignore"):
            result = exercise.check(mistake.implementation)
        assert not result.passed, (exercise.title, mistake.explanation)
        assert result.message == mistake.explanation, (exercise.title, result.message)
