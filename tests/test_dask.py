"""Out-of-core and cluster training on Dask, on a real LocalCluster of worker processes.

Select these tests with ``-m dask``; they are part of the default run.
"""

import pickle

import numpy as np
import pytest

pytestmark = pytest.mark.dask
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers")
dask_ml_search = pytest.importorskip("dask_ml.model_selection")

import dask  # noqa: E402
import joblib  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from sklearn_gd import GDClassifier, GDRegressor  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, memory_limit="2GB",
    )  # fmt: skip
    with cluster, distributed.Client(cluster) as client:
        yield client


def _classification(n=60_000, d=10, chunk=6_000):
    rng = da.random.RandomState(0)
    X = rng.normal(size=(n, d), chunks=(chunk, d))
    y = (X @ (np.arange(d) / d - 0.3) + 0.5 * rng.normal(size=n, chunks=chunk) > 0).astype(int)
    return X, y


def test_incremental_classifier_matches_in_memory_quality(client):
    X, y = _classification()
    assert X.numblocks[0] == 10
    wrapped = dask_ml_wrappers.Incremental(GDClassifier(optimizer="adam", batch_size=256,
                                                        random_state=0))  # fmt: skip
    for _ in range(3):  # three passes, one partial_fit per block each
        wrapped.partial_fit(X, y, classes=[0, 1])
    X_np, y_np = dask.compute(X, y)
    in_memory = GDClassifier(random_state=0).fit(X_np, y_np).score(X_np, y_np)
    assert wrapped.score(X, y) >= in_memory - 0.01
    pred = wrapped.predict(X)
    assert isinstance(pred, da.Array) and pred.shape == y.shape
    assert wrapped.estimator_.n_iter_ == 30


def test_incremental_regressor_on_a_dask_dataframe(client):
    rng = da.random.RandomState(1)
    X = rng.normal(size=(40_000, 5), chunks=(5_000, 5))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.1 * rng.normal(size=40_000, chunks=5_000)
    frame = dd.from_dask_array(X, columns=[f"x{i}" for i in range(5)])
    target = dd.from_dask_array(y)
    wrapped = dask_ml_wrappers.Incremental(GDRegressor(batch_size=128, random_state=0))
    for _ in range(2):
        wrapped.partial_fit(frame, target)
    X_np, y_np = dask.compute(X, y)
    in_memory = GDRegressor(random_state=0).fit(X_np, y_np).score(X_np, y_np)
    # Incremental.score of any regressor (SGDRegressor too) fails in dask-ml's
    # r2_score on current dask; R^2 from the wrapper's predict is the route
    # the README documents.
    pred = wrapped.predict(frame)
    assert isinstance(pred, da.Array)
    y_true, y_pred = dask.compute(target, pred)
    assert r2_score(y_true, y_pred) >= in_memory - 0.01
    np.testing.assert_allclose(y_pred, wrapped.estimator_.predict(frame.compute()))


def test_grid_search_on_the_joblib_dask_backend(client):
    X, y = dask.compute(*_classification(n=4_000, chunk=1_000))
    search = GridSearchCV(GDClassifier(max_iter=20, random_state=0),
                          {"learning_rate": [1e-3, 1e-2, 1e-1]}, cv=3)  # fmt: skip
    with joblib.parallel_backend("dask"):
        search.fit(X, y)
    assert len(search.cv_results_["params"]) == 3 and search.best_score_ > 0.8


@pytest.mark.parametrize("Search", ["IncrementalSearchCV", "HyperbandSearchCV"])
def test_incremental_searches_with_the_documented_call_pattern(client, Search):
    X, y = _classification(n=20_000, chunk=2_000)
    params = {"learning_rate": [1e-3, 1e-2, 1e-1], "alpha": [1e-5, 1e-3]}
    kwargs = {"max_iter": 9} if Search == "HyperbandSearchCV" else {"n_initial_parameters": 4,
                                                                     "max_iter": 5}  # fmt: skip
    search = getattr(dask_ml_search, Search)(GDClassifier(), params, random_state=0, **kwargs)
    # dask-ml persists data with the top-level dask.persist inside its event
    # loop, which newer dask refuses for the (then asynchronous) Client; a
    # scheduler given as the bound method client.get bypasses that check and
    # persist still goes through client.persist. See the README.
    with dask.config.set(scheduler=client.get):
        search.fit(X, y, classes=[0, 1])
    assert search.best_score_ > 0.7
    assert isinstance(search.best_estimator_, GDClassifier)


def _partial_fit(model, X, y):
    return model.partial_fit(X, y, classes=[0, 1])


def test_state_travels_between_worker_processes_exactly(client):
    X, y = dask.compute(*_classification(n=6_000, chunk=1_000))
    chunks = np.array_split(np.arange(len(y)), 6)
    # A worker the nanny restarted (on a loaded CI machine) is back before we name it.
    client.wait_for_workers(2, timeout=120)
    workers = sorted(client.scheduler_info()["workers"])
    assert len(workers) == 2
    remote = GDClassifier(optimizer="adam", batch_size=32, random_state=0)
    local = GDClassifier(optimizer="adam", batch_size=32, random_state=0)
    for i, rows in enumerate(chunks):
        # Each call runs on the other worker: the model (weights, Adam's
        # moments, step count, curves) is pickled there and back every time.
        remote = client.submit(_partial_fit, remote, X[rows], y[rows], workers=[workers[i % 2]],
                               pure=False).result()  # fmt: skip
        local = _partial_fit(local, X[rows], y[rows])
    np.testing.assert_allclose(remote.coef_, local.coef_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(remote._state.opt_state[1], local._state.opt_state[1], rtol=1e-12)
    assert remote.t_ == local.t_ and remote.loss_curve_ == local.loss_curve_
    assert pickle.loads(pickle.dumps(remote)).t_ == local.t_
