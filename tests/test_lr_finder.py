"""find_learning_rate: a suggestion that trains as well as the default, and fit's inputs."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler, scale
from sklearn.utils.class_weight import compute_class_weight

from sklearn_gd import GDClassifier, GDRegressor, find_learning_rate

X_D, Y_D = load_diabetes(return_X_y=True)
X_B, Y_B = load_breast_cancer(return_X_y=True)
X_D, X_B = scale(X_D), scale(X_B)


@pytest.mark.parametrize(
    "estimator, X, y",
    [
        (GDRegressor(), X_D, Y_D),
        (GDRegressor(), X_D, scale(Y_D)),
        (GDClassifier(), X_B, Y_B),
    ],
    ids=["diabetes, y in its units", "diabetes, y standardized", "breast cancer"],
)
def test_suggestion_trains_as_well_as_the_default(estimator, X, y):
    result = find_learning_rate(estimator, X, y, random_state=0)
    # Not the bottom of the range, where nothing moves (issue 15: 1e-6 on diabetes).
    assert result.suggestion > 100 * result.learning_rates[0]
    default = clone(estimator).set_params(random_state=0).fit(X, y)
    suggested = clone(default).set_params(learning_rate=result.suggestion).fit(X, y)
    assert suggested.score(X, y) > default.score(X, y) - 0.02


def _run(estimator, X, y, **kwargs):
    return find_learning_rate(estimator, X, y, random_state=0, n_steps=60, **kwargs)


def _same_run(a, b, rtol=1e-12):
    np.testing.assert_array_equal(a.learning_rates, b.learning_rates)
    np.testing.assert_allclose(a.losses, b.losses, rtol=rtol)
    assert a.suggestion == pytest.approx(b.suggestion, rel=rtol)


Y_BC = np.where(Y_B == 1, "benign", "malignant")  # string labels, as fit takes them


def _inputs(kind):
    """``(X, y)`` in another container; the pandas ones skip without pandas (no extras)."""
    if kind == "lists":
        return X_B.tolist(), Y_BC.tolist()
    pd = pytest.importorskip("pandas")
    if kind == "DataFrame":
        return pd.DataFrame(X_B, columns=[f"f{i}" for i in range(X_B.shape[1])]), Y_BC
    # fit reads a pandas y by position, whatever its index: so does the finder.
    index = np.arange(len(Y_BC))
    return X_B, pd.Series(Y_BC, index=index + 1000 if kind == "shifted" else index[::-1])


@pytest.mark.parametrize(
    "kind",
    ["DataFrame", "lists", "shifted", "reversed"],
    ids=["DataFrame", "lists", "Series with a shifted index", "Series with a reversed index"],
)
def test_takes_what_fit_takes(kind):
    X, y = _inputs(kind)
    _same_run(_run(GDClassifier(), X, y), _run(GDClassifier(), X_B, Y_BC))


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_sparse_formats_give_the_dense_run(fmt):
    X = sp.random(300, 8, density=0.3, format=fmt, random_state=0)
    y = X @ np.arange(8.0)
    _same_run(_run(GDRegressor(), X, y), _run(GDRegressor(), X.toarray(), y), rtol=1e-9)


def test_class_weight_balanced_is_the_balanced_sample_weight():
    # The reference: scikit-learn's balanced weights on the whole data, as fit uses them.
    weights = compute_class_weight("balanced", classes=np.unique(Y_B), y=Y_B)[Y_B]
    _same_run(
        _run(GDClassifier(class_weight="balanced"), X_B, Y_B),
        _run(GDClassifier(), X_B, Y_B, sample_weight=weights),
    )


def test_zero_weight_rows_change_nothing():
    # Whole batches of zero weight: the run equals the run without those rows.
    sw = np.where(np.arange(len(Y_D)) % 4 == 0, 2.0, 0.0)
    keep = sw > 0
    _same_run(
        _run(GDRegressor(batch_size=8), X_D, Y_D, sample_weight=sw),
        _run(GDRegressor(batch_size=8), X_D[keep], Y_D[keep], sample_weight=sw[keep]),
    )


def test_pipeline_runs_on_the_transformed_data():
    X = load_breast_cancer().data
    pipe = make_pipeline(StandardScaler(), GDClassifier(batch_size=32))
    _same_run(
        _run(pipe, X, Y_B),
        _run(GDClassifier(batch_size=32), StandardScaler().fit_transform(X), Y_B),
    )
    assert not hasattr(pipe[0], "mean_")  # the pipeline passed in is not fitted


@pytest.mark.parametrize(
    "estimator, kwargs, error, message",
    [
        (LogisticRegression(), {}, TypeError, "GDRegressor, a GDClassifier or a Pipeline"),
        (make_pipeline(StandardScaler(), LogisticRegression()), {}, TypeError,
         "Pipeline ending in one; got LogisticRegression"),
        (GDRegressor(), {"min_learning_rate": 1.0, "max_learning_rate": 0.1}, ValueError,
         "min_learning_rate < max_learning_rate"),
        (GDRegressor(), {"min_learning_rate": 0.0}, ValueError,
         "min_learning_rate == 0.0, must be > 0"),
        (GDRegressor(), {"max_learning_rate": np.inf}, ValueError,
         "max_learning_rate must be a finite"),
        (GDRegressor(), {"n_steps": 2.5}, TypeError, "n_steps must be an instance of int"),
        (GDRegressor(), {"n_steps": 5}, ValueError, "n_steps == 5, must be >= 10"),
        (GDRegressor(), {"stop_factor": 1.0}, ValueError, "stop_factor == 1.0, must be > 1"),
        (GDRegressor(), {"smoothing": 0}, ValueError, "smoothing == 0, must be > 0"),
        (GDRegressor(), {"smoothing": 1.5}, ValueError, "smoothing == 1.5, must be <= 1"),
        (GDRegressor(batch_size=0), {}, ValueError, "'batch_size' parameter of GDRegressor"),
        (GDRegressor(), {"sample_weight": np.zeros(len(Y_D))}, ValueError,
         "at least one (positive|non-zero)"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)  # fmt: skip
def test_bad_arguments_get_clear_errors(estimator, kwargs, error, message):
    with pytest.raises(error, match=message):
        find_learning_rate(estimator, X_D, Y_D, **kwargs)
