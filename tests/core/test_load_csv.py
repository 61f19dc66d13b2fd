"""load_csv: good files load into the course's pipeline; bad files raise one clear error."""
import numpy as np
import pytest

from course_lib import data
from course_lib.data import Standardizer, load_csv, load_wine, train_val_test_split


def write(tmp_path, text, name="table.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = "a,b,class\n1,2.5,0\n3,-1e-3,1\n4,5,1\n,,\n7,8,2\n"


def test_good_file_gives_features_labels_and_names(tmp_path):
    loaded = load_csv(write(tmp_path, GOOD), target="class")
    np.testing.assert_array_equal(loaded.x, np.array([[1, 2.5], [3, -1e-3], [4, 5], [7, 8]],
                                                     dtype=np.float32))
    np.testing.assert_array_equal(loaded.y, [0, 1, 1, 2])
    assert loaded.x.dtype == np.float32 and loaded.y.dtype == np.int64
    assert loaded.feature_names == ("a", "b") and loaded.classes == (0, 1, 2)


def test_target_in_any_column_with_names_and_other_delimiter(tmp_path):
    text = "kind;length;width\nsmall;1;2\nlarge;10;20\nsmall;2;1\n"
    loaded = load_csv(write(tmp_path, text), target="kind", delimiter=";", dtype=np.float64)
    assert loaded.classes == ("large", "small")
    np.testing.assert_array_equal(loaded.y, [1, 0, 1])
    np.testing.assert_array_equal(loaded.x, [[1, 2], [10, 20], [2, 1]])
    assert loaded.feature_names == ("length", "width") and loaded.x.dtype == np.float64


def test_labels_are_renumbered_from_zero(tmp_path):
    loaded = load_csv(write(tmp_path, "x,y\n0,3\n1,7.0\n2,3\n"), target="y")
    assert loaded.classes == (3, 7)
    np.testing.assert_array_equal(loaded.y, [0, 1, 0])


def test_loaded_data_goes_through_the_pipeline(tmp_path):
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{a:.4f},{b:.4f},{k}" for (a, b), k in
                     zip(rng.normal(size=(40, 2)) * [1, 100], rng.integers(0, 2, 40)))
    loaded = load_csv(write(tmp_path, "u,v,label\n" + rows + "\n"), target="label")
    split = train_val_test_split(loaded.x, loaded.y, seed=0, stratify=True)
    scaler = Standardizer().fit(split.x_train)
    z = scaler.transform(split.x_train)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-5)
    assert len(split.x_train) + len(split.x_val) + len(split.x_test) == 40


def test_shipped_wine():
    wine = load_wine()
    assert wine.x.shape == (178, 13) and wine.classes == (0, 1, 2)
    np.testing.assert_array_equal(np.bincount(wine.y), [59, 71, 48])
    assert wine.feature_names[0] == "alcohol" and wine.feature_names[-1] == "proline"
    assert np.all(np.isfinite(wine.x))


@pytest.mark.parametrize("text, pieces", [
    ("", ["empty"]),
    ("\n\n", ["empty"]),
    ("a,b,class\n", ["no data rows"]),
    ("a,b,label\n1,2,0\n", ["'class'", "'a', 'b', 'label'"]),
    ("a,b,class\n1,2,0\n3,4\n", ["line 3", "2 fields", "3 columns", "ragged"]),
    ("a,b,class\n1,2,0\n3,4,1,9\n", ["line 3", "4 fields"]),
    ("a,b,class\n1,2,0\n3,abc,1\n", ["line 3", "column 'b'", "'abc' is not a number"]),
    ("a,b,class\n1,2,0\n,4,1\n", ["line 3", "column 'a'", "missing value"]),
    ("a,b,class\n1,nan,0\n3,4,1\n", ["line 2", "column 'b'"]),
    ("a,b,class\n1,2,0\n3,4,\n", ["line 3", "column 'class'", "missing target"]),
    ("a,b,class\n1,2,4\n3,4,4\n", ["every row has the class 4", "at least two classes"]),
    ("a,b,class\n1,2,4\n3,4,cat\n", ["mixes numbers and names"]),
    ("class\n1\n2\n", ["only the target column"]),
    ("a,a,class\n1,2,0\n3,4,1\n", ["repeated: a"]),
])
def test_bad_files_name_the_file_and_the_problem(tmp_path, text, pieces):
    path = write(tmp_path, text, name="bad_table.csv")
    with pytest.raises(ValueError) as error:
        load_csv(path, target="class")
    message = str(error.value)
    assert "bad_table.csv" in message
    for piece in pieces:
        assert piece in message, message


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.csv"):
        load_csv(tmp_path / "nowhere.csv", target="class")


@pytest.mark.parametrize("kwargs, error, piece", [
    ({"target": ""}, TypeError, "target"),
    ({"target": 3}, TypeError, "target"),
    ({"target": "class", "delimiter": ",;"}, ValueError, "delimiter"),
    ({"target": "class", "dtype": np.int32}, TypeError, "dtype"),
])
def test_bad_arguments(tmp_path, kwargs, error, piece):
    with pytest.raises(error, match=piece):
        load_csv(write(tmp_path, GOOD), **kwargs)
