"""GDClassifier against LogisticRegression, and its classification features."""

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_gd import GDClassifier


def exact_gd(X, curvature, alpha, sample_weight=None):
    """Full-batch plain gradient descent at the classic step ``1 / L``, with ``L``
    the curvature of the objective computed here: ``c * lambda_max(X~^T W X~) + alpha``."""
    Xt = np.c_[X, np.ones(len(X))]
    w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, float)
    L = curvature * np.linalg.eigvalsh(Xt.T @ (w[:, None] * Xt) / w.sum()).max() + alpha
    return dict(optimizer="sgd", learning_rate=1.0 / L, batch_size="full", tol=None)


def _logistic_objective(X, y, coef, intercept, alpha):
    """Mean log-loss plus alpha/2 |W|^2, computed here from scratch."""
    Z = X @ coef.T + intercept
    classes = np.unique(y)
    if len(classes) == 2:
        s = np.where(y == classes[1], 1.0, -1.0)
        loss = np.logaddexp(0.0, -s * Z[:, 0])
    else:
        loss = logsumexp(Z, axis=1) - Z[np.arange(len(y)), np.searchsorted(classes, y)]
    return loss.mean() + alpha / 2 * np.sum(coef**2)


@pytest.mark.parametrize("n_classes", [2, 3, 4])
def test_log_loss_reaches_logistic_regression_objective(n_classes):
    X, y = make_classification(300, 6, n_informative=4, n_classes=n_classes, random_state=n_classes)
    alpha = 1e-2
    curvature = 0.25 if n_classes == 2 else 0.5  # the log-loss (softmax) Hessian bound
    gd = GDClassifier(alpha=alpha, max_iter=1000, **exact_gd(X, curvature, alpha)).fit(X, y)
    ref = LogisticRegression(C=1 / (alpha * len(y)), tol=1e-12, max_iter=10_000).fit(X, y)
    ours = _logistic_objective(X, y, gd.coef_, gd.intercept_, alpha)
    best = _logistic_objective(X, y, ref.coef_, ref.intercept_, alpha)
    assert abs(ours - best) <= 1e-6 * best
    assert gd.coef_.shape == ((1, 6) if n_classes == 2 else (n_classes, 6))
    assert gd.loss_curve_[-1] == pytest.approx(ours, rel=1e-6)


@pytest.mark.parametrize("loss", ["log_loss", "modified_huber"])
def test_predict_proba_rows_sum_to_one_and_follow_decision_function(loss):
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = GDClassifier(loss=loss, random_state=0).fit(X, y)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    scores = model.decision_function(X)
    np.testing.assert_array_equal(proba.argmax(axis=1), scores.argmax(axis=1))
    np.testing.assert_allclose(np.exp(model.predict_log_proba(X)), proba)


def test_binary_proba_is_sigmoid_of_decision_function():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = GDClassifier(random_state=0).fit(X, y)
    np.testing.assert_allclose(
        model.predict_proba(X)[:, 1], 1 / (1 + np.exp(-model.decision_function(X)))
    )


@pytest.mark.parametrize("loss", ["hinge", "squared_hinge", "perceptron"])
def test_no_proba_for_margin_losses(loss):
    model = GDClassifier(loss=loss).fit([[0.0], [1.0]], [0, 1])
    assert not hasattr(model, "predict_proba")
    with pytest.raises(AttributeError, match="has no attribute 'predict_log_proba'"):
        model.predict_log_proba([[0.0]])


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["no", "yes"]),
        np.array([False, True]),
        np.array([-3, 7]),
        np.array(["a", "b", "c"]),
    ],
)
def test_any_label_type(labels):
    rng = np.random.RandomState(0)
    idx = rng.randint(len(labels), size=120)
    X = rng.normal(size=(120, 2)) + idx[:, None] * 3.0
    model = GDClassifier(random_state=0).fit(X, labels[idx])
    np.testing.assert_array_equal(model.classes_, np.unique(labels))
    assert model.predict(X).dtype == labels.dtype
    assert model.score(X, labels[idx]) > 0.9


def test_one_vs_rest_trains_all_classes_in_one_pass():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = GDClassifier(loss="hinge", random_state=0, max_iter=20).fit(X, y)
    assert model.coef_.shape == (10, 64)
    assert model.t_ == model.n_iter_ * int(np.ceil(len(y) / 112))  # one step per batch
    assert model.score(X, y) > 0.95


def test_class_weight_balanced_raises_minority_recall():
    X, y = make_classification(
        2000, 10, weights=[0.95, 0.05], flip_y=0.05, class_sep=0.5, random_state=0
    )
    plain = GDClassifier(random_state=0).fit(X, y)
    balanced = GDClassifier(class_weight="balanced", random_state=0).fit(X, y)
    assert recall_score(y, balanced.predict(X)) > recall_score(y, plain.predict(X)) + 0.1


def test_class_weight_dict_equals_sample_weight():
    X, y = make_classification(200, 5, random_state=0)
    params = dict(exact_gd(X, 0.25, 0.0), max_iter=50)
    a = GDClassifier(class_weight={0: 3.0, 1: 0.5}, **params).fit(X, y)
    b = GDClassifier(**params).fit(X, y, sample_weight=np.where(y == 0, 3.0, 0.5))
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-12)


def test_class_weight_errors():
    X, y = [[0.0], [1.0], [2.0], [3.0]], [0, 1, 0, 1]
    with pytest.raises(ValueError, match=r"class_weight has labels not in the data: \[5\]"):
        GDClassifier(class_weight={0: 1.0, 5: 2.0}).fit(X, y)
    with pytest.raises(ValueError, match="'balanced' is not supported by partial_fit"):
        GDClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1])


def _two_relevant_features():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(500, 10))
    y = (X[:, 0] - 2 * X[:, 1] + 0.1 * rng.normal(size=500) > 0).astype(int)
    return X, y


@pytest.mark.filterwarnings("ignore:.*penalty.*:FutureWarning")
def test_l1_reaches_the_exact_l1_logistic_solution():
    X, y = _two_relevant_features()
    alpha = 0.02
    gd = GDClassifier(penalty="l1", alpha=alpha, max_iter=2000, **exact_gd(X, 0.25, 0.0))
    gd.fit(X, y)
    ref = LogisticRegression(
        penalty="l1", C=1 / (alpha * len(y)), solver="saga", tol=1e-10, max_iter=100_000
    ).fit(X, y)
    np.testing.assert_allclose(gd.coef_, ref.coef_, atol=1e-4)
    np.testing.assert_array_equal(gd.coef_ == 0.0, ref.coef_ == 0.0)


def test_l1_zeroes_irrelevant_features_with_defaults():
    X, y = _two_relevant_features()
    model = GDClassifier(penalty="l1", alpha=0.05, random_state=0).fit(X, y)
    assert np.all(model.coef_[0, 2:] == 0.0)
    assert np.all(model.coef_[0, :2] != 0.0)


def test_early_stopping_is_stratified_and_restores_best_weights():
    X, y = make_classification(600, 20, n_informative=5, flip_y=0.2, random_state=0)
    model = GDClassifier(
        early_stopping=True,
        restore_best_weights=True,
        n_iter_no_change=10,
        tol=1e-3,
        learning_rate=0.05,
        schedule="constant",
        random_state=0,
    ).fit(X, y)
    curve = model.validation_score_curve_
    assert len(curve) == model.n_iter_ < 1000
    assert model.best_epoch_ == int(np.argmax(curve)) + 1
    # The restored weights score the best validation accuracy again.
    rng = np.random.RandomState(0)
    again = GDClassifier(
        early_stopping=True,
        n_iter_no_change=10,
        tol=1e-3,
        learning_rate=0.05,
        schedule="constant",
        random_state=0,
        max_iter=model.best_epoch_,
    ).fit(X, y)
    np.testing.assert_allclose(model.coef_, again.coef_, rtol=1e-12)
    del rng


def test_early_stopping_on_validation_loss():
    X, y = make_classification(400, 10, random_state=0)
    model = GDClassifier(early_stopping=True, scoring="loss", random_state=0).fit(X, y)
    assert all(score < 0 for score in model.validation_score_curve_)


def test_stratified_split_needs_two_members_per_class():
    X = np.arange(10.0)[:, None]
    y = [0] * 9 + [1]
    with pytest.raises(ValueError, match="stratified validation split"):
        GDClassifier(early_stopping=True).fit(X, y)


@pytest.mark.parametrize(
    "load", [load_breast_cancer, load_wine, load_digits], ids=lambda f: f.__name__
)
def test_default_within_one_point_of_logistic_regression(load):
    X, y = load(return_X_y=True)
    ours = cross_val_score(make_pipeline(StandardScaler(), GDClassifier(random_state=0)), X, y)
    ref = cross_val_score(make_pipeline(StandardScaler(), LogisticRegression()), X, y)
    assert ours.mean() >= ref.mean() - 0.01


def test_default_within_one_point_on_large_problem():
    X, y = make_classification(50_000, 50, n_informative=20, random_state=0)
    ours = cross_val_score(make_pipeline(StandardScaler(), GDClassifier(random_state=0)), X, y)
    ref = cross_val_score(make_pipeline(StandardScaler(), LogisticRegression()), X, y)
    assert ours.mean() >= ref.mean() - 0.01


@pytest.mark.parametrize("loss", ["log_loss", "modified_huber", "hinge"])
def test_probabilities_exist_by_loss_alone_before_fit(loss):
    # As scikit-learn's SGD: hasattr answers before fit; calling still needs fit.
    from sklearn.exceptions import NotFittedError

    model = GDClassifier(loss=loss)
    has = loss in ("log_loss", "modified_huber")
    assert hasattr(model, "predict_proba") is has
    assert hasattr(model, "predict_log_proba") is has
    if has:
        with pytest.raises(NotFittedError):
            model.predict_proba(np.zeros((1, 2)))


def test_stacking_auto_uses_probabilities():
    from sklearn.datasets import load_iris
    from sklearn.ensemble import StackingClassifier

    X, y = load_iris(return_X_y=True)
    members = [
        ("log", GDClassifier(random_state=0)),
        ("hinge", GDClassifier(loss="hinge", random_state=0)),
    ]
    stack = StackingClassifier(members, cv=2).fit(X, y)
    assert stack.stack_method_ == ["predict_proba", "decision_function"]


@pytest.mark.parametrize("n_classes", [2, 3])
def test_sparsify_and_densify_as_scikit_learn(n_classes):
    # As scikit-learn's linear models: sparsify gives a CSR coef_ of shape
    # (n_outputs, n_features), predictions are unchanged, densify gives back the
    # array fit made, and fitting again works (also a warm start).
    from scipy import sparse

    from sklearn_gd import GDRegressor

    X, y = make_classification(
        n_samples=120, n_features=8, n_informative=4, n_classes=n_classes, random_state=0
    )
    for model, target in ((GDClassifier(penalty="l1", alpha=0.02), y), (GDRegressor(), y * 1.0)):
        model.set_params(random_state=0, max_iter=30, tol=None).fit(X, target)
        dense_coef = model.coef_.copy()
        expected = {m: getattr(model, m)(X) for m in ("predict", "decision_function")
                    if hasattr(model, m)}  # fmt: skip
        assert model.sparsify() is model
        assert sparse.issparse(model.coef_) and model.coef_.format == "csr"
        assert model.coef_.shape == (np.atleast_2d(dense_coef).shape[0], X.shape[1])
        for method, want in expected.items():
            np.testing.assert_allclose(getattr(model, method)(X), want, rtol=1e-12)
            np.testing.assert_allclose(
                getattr(model, method)(sparse.csr_matrix(X)), want, rtol=1e-12
            )
        assert model.densify() is model
        assert isinstance(model.coef_, np.ndarray) and model.coef_.shape == dense_coef.shape
        np.testing.assert_array_equal(model.coef_, dense_coef)
        model.sparsify().fit(X, target)  # a cold refit
        assert isinstance(model.coef_, np.ndarray)
        model.sparsify().set_params(warm_start=True, max_iter=1).fit(X, target)
        assert isinstance(model.coef_, np.ndarray)


def test_sparsify_needs_a_fitted_model():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        GDClassifier().sparsify()
