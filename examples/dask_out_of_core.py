"""
Out-of-core training on a Dask cluster
======================================

When the data do not fit in memory, ``dask_ml.wrappers.Incremental`` feeds a
dask array to the estimator's ``partial_fit`` one block at a time, on the
workers of a Dask cluster; the estimator (weights, Adam's moments, step count)
travels between workers by pickling. sklearn-gd needs nothing else: no
scheduler of its own.

The full run generates a 20 000 000 x 40 dataset (6.4 GB of float64, never held
in one place) on a ``LocalCluster`` of two worker processes limited to 1.5 GB
each, trains ``GDClassifier(optimizer='adam', batch_size=256)`` in one pass,
and reports rows per second and the accuracy on a held-out dask array. With
``--fast`` (used in CI) the dataset is 200 000 x 20.

Requires the dask extra: ``pip install 'sklearn-gd[dask]'``.
"""

import sys
import time

import numpy as np

try:
    import dask.array as da
    from dask_ml.wrappers import Incremental
    from distributed import Client, LocalCluster
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise SystemExit("This example needs the dask extra: pip install 'sklearn-gd[dask]'") from exc

from sklearn_gd import GDClassifier

FAST = "--fast" in sys.argv
N, D, CHUNK = (200_000, 20, 20_000) if FAST else (20_000_000, 40, 250_000)


def make_data(seed, n):
    """A lazy dask array of n rows and a label per row; nothing is computed here."""
    rng = da.random.RandomState(seed)
    X = rng.normal(size=(n, D), chunks=(CHUNK, D))
    w = np.linspace(-1, 1, D)
    y = (X @ w + rng.normal(scale=2.0, size=n, chunks=CHUNK) > 0).astype(int)
    return X, y


if __name__ == "__main__":
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, memory_limit="1.5GB") as cluster, \
            Client(cluster):  # fmt: skip
        X, y = make_data(0, N)
        X_test, y_test = make_data(1, N // 10)
        print(f"training data: {X.shape[0]:,} x {X.shape[1]} ({X.nbytes / 1e9:.2f} GB), "
              f"{X.numblocks[0]} blocks; cluster memory: 2 x 1.5 GB")  # fmt: skip

        model = Incremental(GDClassifier(optimizer="adam", batch_size=256, random_state=0))
        tic = time.perf_counter()
        model.partial_fit(X, y, classes=[0, 1])
        seconds = time.perf_counter() - tic
        print(f"one pass: {seconds:.1f} s, {N / seconds:,.0f} rows per second "
              f"(data generated on the workers as it is consumed)")  # fmt: skip
        print(f"optimizer steps: {model.estimator_.t_:,}")
        print(f"held-out accuracy: {model.score(X_test, y_test):.4f}")
