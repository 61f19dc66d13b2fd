"""The exercise mechanism, and the one contract every checker of the course keeps.

The contract is tested here once, for every ``Exercise`` defined in a topic's
``course_lib/lessons/<topic>/exercises.py`` and for every public ``check_*`` function there,
found by discovery: a new exercise or checker is covered without a new test. The per-topic
test files test only what is particular to a topic (its reference against the library,
wrong versions written the way a learner writes them).
"""
import importlib
import inspect
import math
import pkgutil
import re
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

import course_lib.lessons as lessons
from course_lib.lessons.exercise import Case, CheckResult, Exercise, Mistake, ValidationChoice
from course_lib.lessons.start.exercises import check_standardize, standardize_reference


def square(x):
    return np.asarray(x) ** 2


SQUARE = Exercise("square", square, [Case("small", (np.arange(4.0),))],
                  mistakes=[Mistake("you doubled instead of squaring.", lambda x: 2 * np.asarray(x))])


# --------------------------------------------------------------------- the mechanism

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
    assert "case 'small' at index (3,): your value 10 is too large" in result.message
    assert "9" not in result.message                       # the answer is never given away
    assert "shape" in SQUARE.check(lambda x: np.asarray(x)[:2] ** 2).message
    assert "raised ZeroDivisionError" in SQUARE.check(lambda x: 1 / 0).message
    assert "NaN" in SQUARE.check(lambda x: np.full(4, np.nan)).message


def test_an_input_changed_in_place_fails_even_with_right_results():
    def square_in_place(x):
        x **= 2
        return x.copy()
    arrays = Exercise("square", lambda x: x ** 2, [Case("a", (np.arange(4.0),))])
    result = arrays.check(square_in_place)
    assert not result.passed and "changed its argument 1 in place" in result.message
    assert arrays.check(lambda x: x ** 2).passed


def test_a_solution_is_shown_folded_and_defines_nothing():
    from course_lib.lessons.exercise import show_solution
    shown = show_solution(SQUARE)
    assert "def square" in repr(shown)
    assert shown._repr_html_().startswith("<details>")
    assert "def square" in repr(show_solution(square))        # or the reference function itself
    with pytest.raises(TypeError, match="must be an Exercise or a function"):
        show_solution(42)


def test_an_exercise_needs_a_case():
    with pytest.raises(ValueError, match="cases"):
        Exercise("empty", square, [])


# ------------------------------------------------------------- the first notebook's exercise

def test_standardize_accepts_an_equivalent_solution():
    def other(x_train, x_test):
        mean = np.mean(x_train, axis=0, keepdims=True)
        std = np.sqrt(np.mean((x_train - mean) ** 2, axis=0, keepdims=True))
        std[std == 0] = 1
        return (x_train - mean) / std, (x_test - mean) / std

    assert check_standardize(other).passed


def test_standardize_names_mistakes_written_as_a_learner_would():
    # Not the listed implementations, but the same slips written differently.
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
                    (no_guard, "zero spread"), (only_centre, "your value"),
                    (one_output, "expected 2 results")]
    for wrong, phrase in expectations:
        result = check_standardize(wrong)
        assert not result.passed, wrong.__name__
        assert phrase in result.message, (wrong.__name__, result.message)


# ---------------------------------------------------------- discovery of every checker

def _exercise_modules():
    """The ``exercises`` module of every topic folder of course_lib.lessons."""
    modules = []
    for info in pkgutil.iter_modules(lessons.__path__):
        if info.ispkg:
            modules.append((info.name,
                            importlib.import_module(f"{lessons.__name__}.{info.name}.exercises")))
    return modules


def _all_exercises():
    return [pytest.param(value, id=f"{topic}.{name}")
            for topic, module in _exercise_modules()
            for name, value in vars(module).items() if isinstance(value, Exercise)]


def _all_checkers():
    """Every public ``check_*`` function defined in a topic's exercises module."""
    return [pytest.param(topic, module, name, id=f"{topic}.{name}")
            for topic, module in _exercise_modules()
            for name, value in vars(module).items()
            if name.startswith("check_") and inspect.isfunction(value)
            and value.__module__ == module.__name__
            and _choice_of(module, value) is None]      # scores a value: see below


def _choice_of(module, checker):
    """The :class:`ValidationChoice` an experiment-style checker runs (one of its module's,
    whose title its verdict on "nothing chosen yet" carries), or None for a checker of a
    learner's function."""
    choices = {v.title: v for v in vars(module).values() if isinstance(v, ValidationChoice)}
    if not choices or "seed" not in inspect.signature(checker).parameters:
        return None
    try:
        verdict = checker(None, seed=0)
    except Exception:  # a checker of functions may reject None in its own way
        return None
    return choices.get(getattr(verdict, "exercise", None))


def _all_validation_choices():
    """Every experiment-style checker, with the ValidationChoice it runs."""
    return [pytest.param(value, _choice_of(module, value), id=f"{topic}.{name}")
            for topic, module in _exercise_modules()
            for name, value in vars(module).items()
            if name.startswith("check_") and inspect.isfunction(value)
            and value.__module__ == module.__name__ and _choice_of(module, value) is not None]


def test_discovery_finds_every_topic_and_checker():
    # Guards the parametrisations below against silently collecting nothing.
    topics = {topic for topic, _ in _exercise_modules()}
    assert {"start", "softmax"} <= topics
    assert len(_all_exercises()) >= len(topics) and len(_all_checkers()) >= len(topics)


def _stub(*args, **kwargs):
    raise NotImplementedError


def _zero_every_array_argument(*args, **kwargs):
    for value in [*args, *kwargs.values()]:
        if isinstance(value, np.ndarray) and value.flags.writeable:
            value[...] = 0
    return None


# ------------------------------------------------------------- the contract of an Exercise

@pytest.mark.parametrize("exercise", _all_exercises())
def test_every_exercise_accepts_its_reference_and_explains_each_listed_mistake(exercise):
    assert exercise.check(exercise.reference).passed, exercise.title
    assert exercise.mistakes, f"{exercise.title} lists no typical mistake"
    for mistake in exercise.mistakes:
        with np.errstate(all="ignore"):
            result = exercise.check(mistake.implementation)
        assert not result.passed, (exercise.title, mistake.explanation)
        assert result.message == mistake.explanation, (exercise.title, result.message)


@pytest.mark.parametrize("exercise", _all_exercises())
def test_every_exercise_tells_its_mistakes_apart(exercise):
    # Two listed mistakes with the same outputs would make the second explanation unreachable.
    explanations = [m.explanation for m in exercise.mistakes]
    assert len(set(explanations)) == len(explanations), exercise.title


@pytest.mark.parametrize("exercise", _all_exercises())
def test_every_exercise_answers_a_stub_and_a_non_function(exercise):
    result = exercise.check(_stub)
    assert not result.passed and "not implemented yet" in result.message, result.message
    result = exercise.check("not a function")
    assert not result.passed and "expected a function" in result.message, result.message


@pytest.mark.parametrize("exercise", _all_exercises())
def test_a_learner_cannot_corrupt_the_cases(exercise):
    with np.errstate(all="ignore"):
        exercise.check(_zero_every_array_argument)
    assert exercise.check(exercise.reference).passed, exercise.title


# -------------------------------------------------------- the contract of a public checker

def _range_test_for_check_max_rate():
    # A loss that falls until rate 1e-2, then blows up: any smoothing keeps its minimum there.
    rates = np.geomspace(1e-5, 1.0, 51)
    losses = np.where(rates <= 1e-2, 2.0 - 0.1 * np.log10(rates / 1e-5), 50.0)
    return SimpleNamespace(rates=rates, losses=losses, smoothed=losses)


#: Checkers that take more than one function of the learner, or data besides it:
#: (names of the reference functions in the module, extra arguments after them).
SIGNATURES = {
    "dropout.check_dropout": (("dropout_forward_solution", "dropout_backward_solution"), ()),
    "schedules.check_max_rate": (("pick_max_rate_reference",), (_range_test_for_check_max_rate(),)),
    "capstone.check_challenge": (("build_and_train_reference",), ()),
}


def _references(topic, module, name):
    """The reference solutions, in the learner's form, that checker ``name`` accepts, and the
    arguments that follow them."""
    if f"{topic}.{name}" in SIGNATURES:
        names, extra = SIGNATURES[f"{topic}.{name}"]
        return [getattr(module, n) for n in names], list(extra)
    stem = name[len("check_"):]
    found = [getattr(module, n) for n in (f"{stem}_reference", f"{stem}_solution")
             if hasattr(module, n)]
    assert len(found) == 1, (f"{topic}.{name}: publish its reference as {stem}_reference or "
                             f"{stem}_solution, or add the checker to SIGNATURES")
    return found, []


@pytest.mark.parametrize("topic, module, name", _all_checkers())
def test_every_checker_accepts_its_reference(topic, module, name):
    references, extra = _references(topic, module, name)
    result = getattr(module, name)(*references, *extra)
    assert isinstance(result, CheckResult) and result.passed, result


@pytest.mark.parametrize("topic, module, name", _all_checkers())
def test_every_checker_answers_a_stub_and_a_non_function(topic, module, name):
    references, extra = _references(topic, module, name)
    check = getattr(module, name)
    result = check(*[_stub] * len(references), *extra)
    assert not result.passed and "not implemented yet" in result.message, result.message
    result = check(*["not a function"] * len(references), *extra)
    assert isinstance(result, CheckResult) and not result.passed, result


def _checkers_with_their_exercise():
    """The checkers whose Exercise takes the learner's function as it is (its reference is
    the published one), with that Exercise; the others adapt the function first, and their
    listed mistakes are in the Exercise's form, tested through the Exercise above."""
    found = []
    for param in _all_checkers():
        topic, module, name = param.values
        references, extra = _references(topic, module, name)
        title = getattr(module, name)(*[_stub] * len(references), *extra).exercise
        for value in vars(module).values():
            if (isinstance(value, Exercise) and value.title == title and len(references) == 1
                    and value.reference is references[0]):
                found.append(pytest.param(getattr(module, name), value, extra, id=param.id))
    return found


def test_most_checkers_take_the_learners_function_as_their_exercise_does():
    # Guards the next test against collecting nothing if discovery breaks.
    assert len(_checkers_with_their_exercise()) > len(_all_checkers()) // 2


@pytest.mark.parametrize("check, exercise, extra", _checkers_with_their_exercise())
def test_every_checker_passes_each_listed_mistake_its_explanation(check, exercise, extra):
    # The probes a checker runs before its Exercise (overflow, shapes...) must never hide a
    # listed mistake, and what the learner's code does wrong (overflow, division by zero)
    # is told in the verdict, never leaked as a warning.
    for mistake in exercise.mistakes:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = check(mistake.implementation, *extra)
        assert not result.passed and result.message == mistake.explanation, result.message


# ------------------------------------------- the contract of an experiment-style checker

def _toy_choice():
    # validation loss (x - 2)^2 + 0.1, one seed-dependent wobble of 0.01
    return ValidationChoice("toy", "width", lambda x, seed: (x - 2.0) ** 2 + 0.1 + 0.01 * (seed % 3),
                            grid=(0.0, 1.0, 2.0, 3.0, 4.0), low=0.0, high=4.0, margin=0.05)


def test_a_validation_choice_scores_the_value_on_its_own_runs():
    toy = _toy_choice()
    assert toy.check(2.1).passed and toy.check(1.9).passed
    result = toy.check(3.0)
    assert not result.passed and "lower by more than 0.05" in result.message
    assert "not chosen yet" in toy.check(None).message
    assert "between 0 and 4" in toy.check(7.0).message
    assert "must be a number" in toy.check("2").message
    diverging = ValidationChoice("toy", "width", lambda x, seed: np.nan if x > 3 else x,
                                 grid=(0.0, 1.0, 2.0), low=0.0, high=4.0, margin=0.1)
    assert "diverged on 5 of 5 seeds" in diverging.check(3.5).message


def test_a_validation_choice_needs_a_grid_inside_its_interval():
    with pytest.raises(ValueError, match="grid must lie within"):
        ValidationChoice("toy", "x", lambda x, s: x, grid=(0, 1, 5), low=0, high=4, margin=0.1)
    with pytest.raises(ValueError, match="margin"):
        ValidationChoice("toy", "x", lambda x, s: x, grid=(0, 1, 2), low=0, high=4, margin=0)


def _names_number(message, value):
    """Whether ``message`` writes ``value`` as a number of its own ("0.1" is not in "10")."""
    written = re.findall(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.]*\d)", message)
    return any(math.isclose(float(number), value, rel_tol=1e-3) for number in written)


def test_names_number_matches_whole_numbers_only():
    assert _names_number("you chose 0.1: loss 0.52", 0.1)
    assert _names_number("try 1e-05 instead", 1e-5)
    assert not _names_number("between 0.001 and 10", 1)
    assert not _names_number("momentum 0.999 is too slow", 0.9)


def test_discovery_finds_the_experiment_style_checkers():
    assert {p.id for p in _all_validation_choices()} >= {"start.check_learning_rate_choice"}


@pytest.mark.parametrize("check, choice", _all_validation_choices())
def test_every_experiment_accepts_its_best_and_rejects_a_far_value_without_naming_the_best(
        check, choice):
    medians = choice.grid_medians(seed=0)
    best = int(np.nanargmin(medians))
    # no optimum at the edge of the grid it was searched on
    assert 0 < best < len(choice.grid) - 1, (choice.title, medians)
    assert check(choice.grid[best], seed=0).passed
    worst = int(np.nanargmax(np.where(np.isfinite(medians), medians, -np.inf)))
    result = check(choice.grid[worst], seed=0)
    assert not result.passed
    assert not _names_number(result.message, choice.grid[best]), result.message
    assert "not chosen yet" in check(None, seed=0).message
