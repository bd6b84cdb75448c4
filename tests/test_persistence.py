"""Saving and loading: the version stamp, skops with public types only, exact resumption."""

import copy
import importlib
import io
import pickle
import warnings
import zipfile

import joblib
import numpy as np
import pytest
import sklearn.exceptions
from sklearn.datasets import make_classification, make_regression
from sklearn.preprocessing import StandardScaler

import sklearn_gd
from sklearn_gd import GDClassifier, GDRegressor, optimizers, schedules
from sklearn_gd.exceptions import InconsistentVersionWarning


def chunks(X, y, n_chunks=3):
    return list(zip(np.array_split(X, n_chunks), np.array_split(y, n_chunks), strict=True))


def classification():
    X, y = make_classification(300, 5, n_informative=3, n_classes=3, random_state=0)
    return StandardScaler().fit_transform(X), y


def stream_models():
    """Estimators whose state has optimizer slots, schedules and averaging to carry."""
    return [
        GDClassifier(
            optimizer=optimizers.Adam(beta1=0.8),
            schedule=schedules.Warmup(schedules.CosineAnnealing(t_max=10), warmup_steps=5),
            batch_size=16,
            average=3,
            random_state=0,
        ),
        GDRegressor(optimizer="momentum", schedule="invscaling", batch_size=8, random_state=0),
    ]


def stream_data(model):
    if isinstance(model, GDClassifier):
        X, y = classification()
        return X, y, {"classes": np.unique(y)}
    X, y = make_regression(300, 5, n_targets=2, noise=1.0, random_state=0)
    return X, y / y.std(), {}


def assert_same_model(a, b):
    """Every fitted array and number equal, the optimizer slots included."""
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)
    assert (a.t_, a.n_iter_) == (b.t_, b.n_iter_)
    assert a.loss_curve_ == b.loss_curve_
    assert a.learning_rate_curve_ == b.learning_rate_curve_
    state_a, state_b = vars(a._state), vars(b._state)
    assert state_a.keys() == state_b.keys()
    for name, value in state_a.items():
        if isinstance(value, tuple):
            for x, y in zip(value, state_b[name], strict=True):
                np.testing.assert_array_equal(x, y)
        else:
            np.testing.assert_array_equal(value, state_b[name])


def public_name(cls):
    """Where users import ``cls`` from, if it is public: ``module.Class``."""
    for module in (sklearn_gd, optimizers, schedules):
        if getattr(module, cls.__name__, None) is cls and not cls.__name__.startswith("_"):
            return f"{module.__name__}.{cls.__name__}"
    return None


# --- the version stamp ------------------------------------------------------------


def test_pickle_records_the_version_and_loads_silently_under_it():
    X, y = classification()
    model = GDClassifier(max_iter=5, random_state=0).fit(X, y)
    data = pickle.dumps(model)
    assert model.__getstate__()["_sklearn_gd_version"] == sklearn_gd.__version__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = pickle.loads(data)
    assert not hasattr(loaded, "_sklearn_gd_version")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("fitted", [True, False])
def test_pickle_from_another_version_warns(monkeypatch, fitted):
    X, y = make_regression(50, 3, random_state=0)
    model = GDRegressor(max_iter=5, random_state=0)
    if fitted:
        model.fit(X, y)
    monkeypatch.setattr(sklearn_gd, "__version__", "0.0.1")
    data = pickle.dumps(model)
    monkeypatch.undo()
    with pytest.warns(InconsistentVersionWarning, match="from sklearn-gd version 0.0.1") as rec:
        loaded = pickle.loads(data)
    warning = rec[0].message
    assert warning.original_version == "0.0.1"
    assert warning.current_version == sklearn_gd.__version__
    assert warning.estimator_name == "GDRegressor"
    # scikit-learn's filter for its own warning catches ours too.
    assert isinstance(warning, sklearn.exceptions.InconsistentVersionWarning)
    if fitted:
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_state_without_a_version_warns_as_unknown():
    X, y = classification()
    model = GDClassifier(max_iter=5, random_state=0).fit(X, y)
    state = model.__getstate__()
    del state["_sklearn_gd_version"]
    fresh = GDClassifier.__new__(GDClassifier)
    with pytest.warns(InconsistentVersionWarning, match="version unknown"):
        fresh.__setstate__(state)
    np.testing.assert_array_equal(fresh.predict(X), model.predict(X))


# --- skops: plain data, public types ------------------------------------------------


@pytest.mark.parametrize("model", stream_models(), ids=lambda m: type(m).__name__)
def test_skops_round_trip_with_public_types_continues_exactly(model):
    sio = pytest.importorskip("skops.io")
    X, y, classes = stream_data(model)
    (X1, y1), (X2, y2), (X3, y3) = chunks(X, y)
    saved = copy.deepcopy(model).partial_fit(X1, y1, **classes).partial_fit(X2, y2)
    never_saved = copy.deepcopy(model).partial_fit(X1, y1, **classes).partial_fit(X2, y2)

    data = sio.dumps(saved)
    untrusted = sio.get_untrusted_types(data=data)
    # Only the estimator and the rule objects the user passed, all public.
    assert any(name.endswith("." + type(saved).__name__) for name in untrusted)
    for name in untrusted:
        module, _, attr = name.rpartition(".")
        assert public_name(getattr(importlib.import_module(module), attr)), name

    loaded = sio.loads(data, trusted=untrusted)
    assert_same_model(loaded, never_saved)
    loaded.partial_fit(X3, y3)
    never_saved.partial_fit(X3, y3)
    assert_same_model(loaded, never_saved)


def test_skops_file_does_not_grow_an_entry_per_epoch():
    # The curves are one array each: a 40-epoch fit writes as many entries
    # as a 4-epoch one.
    sio = pytest.importorskip("skops.io")
    X, y = classification()

    def n_entries(max_iter):
        model = GDClassifier(max_iter=max_iter, tol=None, random_state=0).fit(X, y)
        assert len(model.loss_curve_) == max_iter
        return len(zipfile.ZipFile(io.BytesIO(sio.dumps(model))).namelist())

    assert n_entries(40) == n_entries(4)


# --- joblib, deepcopy -------------------------------------------------------------------


@pytest.mark.parametrize("model", stream_models(), ids=lambda m: type(m).__name__)
def test_joblib_round_trip_mid_stream_continues_exactly(tmp_path, model):
    X, y, classes = stream_data(model)
    (X1, y1), (X2, y2), (X3, y3) = chunks(X, y)
    saved = copy.deepcopy(model).partial_fit(X1, y1, **classes)
    never_saved = copy.deepcopy(model).partial_fit(X1, y1, **classes)
    joblib.dump(saved, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    for X_chunk, y_chunk in ((X2, y2), (X3, y3)):
        loaded.partial_fit(X_chunk, y_chunk)
        never_saved.partial_fit(X_chunk, y_chunk)
    assert_same_model(loaded, never_saved)


def test_curves_keep_their_values_and_stay_lists():
    X, y = classification()
    model = GDClassifier(early_stopping=True, max_iter=20, random_state=0).fit(X, y)
    loaded = pickle.loads(pickle.dumps(model))
    for name in ("loss_curve_", "learning_rate_curve_", "validation_score_curve_"):
        assert isinstance(getattr(loaded, name), list)
        assert getattr(loaded, name) == getattr(model, name)
    assert loaded.best_epoch_ == model.best_epoch_
    # pickling does not change the original
    assert type(model._state).__name__ == "TrainState"
    assert isinstance(model.loss_curve_, list)
