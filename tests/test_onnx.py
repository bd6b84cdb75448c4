"""ONNX export: onnxruntime's outputs equal the estimator's own, for every loss."""

import sys

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_gd import GDClassifier, GDRegressor

skl2onnx = pytest.importorskip("skl2onnx")
rt = pytest.importorskip("onnxruntime")

from sklearn_gd.onnx import register_converters, to_onnx  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)


def run_onnx(model, X, **kwargs):
    """onnxruntime's outputs for ``X`` from the exported model."""
    onx = to_onnx(model, X[:1], **kwargs)
    session = rt.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})


def classification(n_classes, n_samples=200, labels=None):
    X, y = make_classification(
        n_samples, 6, n_informative=4, n_redundant=0, n_classes=n_classes, random_state=0
    )
    X = StandardScaler().fit_transform(X).astype(np.float32)
    return X, (y if labels is None else np.asarray(labels)[y])


def check_classifier(model, X):
    """Labels, probabilities (where the model has them) and decision scores."""
    label, second = run_onnx(model, X)
    np.testing.assert_array_equal(label, model.predict(X))
    scores = run_onnx(model, X, options={GDClassifier: {"zipmap": False, "raw_scores": True}})[1]
    decision = model.decision_function(X)
    if decision.ndim == 1:  # two classes: the graph's columns are (-score, score)
        np.testing.assert_allclose(scores[:, 0], -decision, **TOL)
        scores = scores[:, 1]
    np.testing.assert_allclose(scores, decision, **TOL)
    if hasattr(model, "predict_proba"):
        np.testing.assert_allclose(second, model.predict_proba(X), **TOL)
    return second


@pytest.mark.parametrize(
    "loss, n_classes",
    [
        ("log_loss", 2),
        ("log_loss", 3),
        ("hinge", 2),
        ("hinge", 4),
        ("modified_huber", 2),
        ("modified_huber", 3),
        ("squared_hinge", 3),
        ("perceptron", 2),
    ],
)
def test_classifier_matches(loss, n_classes):
    X, y = classification(n_classes)
    model = GDClassifier(loss=loss, max_iter=30, random_state=0).fit(X, y)
    check_classifier(model, X)


def test_binary_log_loss_is_sigmoid_of_the_score():
    # The reference from the formula, not from the model: [1 - s, s] with
    # s = sigmoid(X w + b) (the generic linear graph would give sigmoid(2z)).
    X, y = classification(2)
    model = GDClassifier(max_iter=30, random_state=0).fit(X, y)
    proba = run_onnx(model, X)[1]
    s = expit(X.astype(np.float64) @ model.coef_[0] + model.intercept_[0])
    np.testing.assert_allclose(proba, np.column_stack([1 - s, s]), **TOL)


def test_multiclass_log_loss_is_multinomial_softmax():
    # One softmax over the classes, not normalised one-vs-rest sigmoids.
    X, y = classification(3)
    model = GDClassifier(max_iter=30, random_state=0).fit(X, y)
    proba = run_onnx(model, X)[1]
    reference = softmax(X.astype(np.float64) @ model.coef_.T + model.intercept_, axis=1)
    np.testing.assert_allclose(proba, reference, **TOL)
    ovr = expit(X.astype(np.float64) @ model.coef_.T + model.intercept_)
    assert np.abs(proba - ovr / ovr.sum(axis=1, keepdims=True)).max() > 1e-3


def test_multiclass_modified_huber_rule():
    # scikit-learn SGD's rule: (clip(z, -1, 1) + 1) / 2 per class, normalised,
    # uniform on rows where every class is at -1 or below.
    X, y = classification(3)
    X = np.vstack([X, -50 * np.ones((1, X.shape[1]), np.float32)])
    model = GDClassifier(loss="modified_huber", max_iter=30, random_state=0).fit(X[:-1], y)
    model.coef_ = np.abs(model.coef_)  # the last row then scores below -1 for all
    model.intercept_ = np.zeros_like(model.intercept_)
    proba = run_onnx(model, X)[1]
    p = (np.clip(X.astype(np.float64) @ model.coef_.T, -1, 1) + 1) / 2
    p[p.sum(axis=1) == 0] = 1.0
    assert (p[-1] == 1.0).all()
    np.testing.assert_allclose(proba, p / p.sum(axis=1, keepdims=True), **TOL)
    np.testing.assert_allclose(proba, model.predict_proba(X), **TOL)


def test_string_labels_and_sparse_training():
    X, y = classification(3, labels=["ant", "bee", "cat"])
    model = GDClassifier(loss="hinge", max_iter=30, random_state=0).fit(sp.csr_matrix(X), y)
    label = run_onnx(model, X)[0]  # served with dense rows
    np.testing.assert_array_equal(label, model.predict(X))
    assert set(label) <= {"ant", "bee", "cat"}


@pytest.mark.parametrize(
    "loss, n_targets",
    [
        ("squared_error", 1),
        ("squared_error", 3),
        ("huber", 2),
        ("epsilon_insensitive", 1),
        ("squared_epsilon_insensitive", 1),
        ("absolute_error", 1),
        ("quantile", 2),
        ("poisson", 1),
        ("poisson", 2),
    ],
)
def test_regressor_matches(loss, n_targets):
    X, y = make_regression(200, 5, n_targets=n_targets, noise=1.0, random_state=0)
    y = (y - y.mean(axis=0)) / y.std(axis=0)
    if loss == "poisson":
        y = np.random.default_rng(0).poisson(np.exp(0.5 * y))
    X = X.astype(np.float32)
    model = GDRegressor(loss=loss, max_iter=30, random_state=0).fit(X, y)
    (pred,) = run_onnx(model, X)
    assert pred.shape == (len(X), n_targets)
    np.testing.assert_allclose(pred, model.predict(X).reshape(len(X), -1), **TOL)
    if loss == "poisson":  # the exp link, from the formula
        raw = X.astype(np.float64) @ np.atleast_2d(model.coef_).T + model.intercept_
        np.testing.assert_allclose(pred, np.exp(raw), **TOL)


def test_pipeline_with_scaler():
    X, y = make_classification(300, 6, n_informative=4, n_classes=3, random_state=1)
    X = (10 * X + 5).astype(np.float32)
    pipe = make_pipeline(StandardScaler(), GDClassifier(max_iter=30, random_state=0)).fit(X, y)
    label, proba = run_onnx(pipe, X)
    np.testing.assert_array_equal(label, pipe.predict(X))
    np.testing.assert_allclose(proba, pipe.predict_proba(X), **TOL)

    target = np.random.default_rng(0).poisson(np.exp(0.1 * X[:, 0] - 0.5))
    pipe = make_pipeline(StandardScaler(), GDRegressor(loss="poisson", random_state=0))
    pipe.fit(X, target)
    np.testing.assert_allclose(run_onnx(pipe, X)[0][:, 0], pipe.predict(X), **TOL)


def test_double_input():
    X, y = classification(3)
    X = X.astype(np.float64)
    model = GDClassifier(loss="modified_huber", max_iter=30, random_state=0).fit(X, y)
    label, proba = run_onnx(model, X)
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=1e-12, atol=1e-12)


def test_register_converters_is_idempotent_for_skl2onnx_users():
    X, y = classification(2)
    model = GDClassifier(max_iter=30, random_state=0).fit(X, y)
    register_converters()
    register_converters()
    onx = skl2onnx.to_onnx(model, X[:1], options={"zipmap": False})
    session = rt.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"X": X})[1], model.predict_proba(X), **TOL)


def test_missing_skl2onnx_names_the_extra(monkeypatch):
    X, y = classification(2)
    model = GDClassifier(max_iter=5, random_state=0).fit(X, y)
    monkeypatch.setitem(sys.modules, "skl2onnx", None)
    with pytest.raises(ImportError, match=r'pip install "sklearn-gd\[onnx\]"'):
        to_onnx(model, X[:1])


def test_unfitted_or_sparse_coef_is_refused_clearly():
    X, y = classification(2)
    with pytest.raises(NotFittedError):
        to_onnx(GDClassifier(), X[:1])
    model = GDRegressor(max_iter=5, random_state=0).fit(X, y.astype(float))
    model.coef_ = sp.csr_matrix(model.coef_)  # what sparsify() does
    with pytest.raises(ValueError, match=r"coef_ is a sparse matrix.*densify\(\)"):
        to_onnx(model, X[:1])
