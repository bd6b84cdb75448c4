"""The raw predictions of the objective passes (``_products.raw_predictions``)."""

import numba  # the helpers compile once numba is imported
import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_gd import _kernel, _products


def _csr(rng, n, d, duplicates=False):
    X = sp.random(n, d, density=0.05, format="lil", random_state=rng)
    X[3] = 0.0  # an empty row
    X = X.tocsr()
    X.indices, X.indptr = X.indices.astype(np.int32), X.indptr.astype(np.int32)
    if duplicates:  # a column twice in a row: CSR adds them up
        X = sp.csr_matrix((np.r_[X.data, 1.5, 2.5], np.r_[X.indices, 7, 7].astype(np.int32),
                           np.r_[X.indptr[:-1], X.indptr[-1] + 2].astype(np.int32)),
                          shape=X.shape)  # fmt: skip
    return X


@pytest.mark.parametrize("n_outputs", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("duplicates", [False, True])
def test_raw_predictions_are_scipys_to_the_bit(n_outputs, duplicates):
    # The same terms added in the same order as scipy's csr_matvecs: equal, not close.
    rng = np.random.default_rng(0)
    X = _csr(rng, 300, 40, duplicates)
    weights = rng.standard_normal((n_outputs, 41))
    coef = weights[:, :-1]  # a view, as the engine passes it
    expected = X @ coef.T
    got = _products.raw_predictions(X, coef)
    assert got.shape == (300, n_outputs)
    np.testing.assert_array_equal(got, expected)
    dense = X.toarray()  # BLAS's product, as it was
    np.testing.assert_array_equal(_products.raw_predictions(dense, coef), dense @ coef.T)


def test_raw_predictions_that_cannot_compile_are_scipys(monkeypatch):
    def broken(*args):
        raise EOFError("Ran out of input")

    helper = _kernel.Helper(_products.csr_products)
    helper._compiled, helper._tried = broken, True
    monkeypatch.setattr(_products, "_csr_products", helper)
    monkeypatch.setattr(_kernel, "_warned", set())
    X, coef = _csr(np.random.default_rng(1), 50, 10), np.ones((3, 10))
    with pytest.warns(UserWarning, match="compiled csr_products failed .*EOFError"):
        np.testing.assert_array_equal(_products.raw_predictions(X, coef), X @ coef.T)
    assert helper.get() is None


def test_helpers_are_cached_in_the_kernel_folder(tmp_path, monkeypatch):
    # SKLEARN_GD_CACHE holds the helpers' numba cache as it holds the loops'; numba's
    # own setting is left as it was.
    monkeypatch.setenv("SKLEARN_GD_CACHE", str(tmp_path))
    before = numba.config.CACHE_DIR
    kernel = _kernel.Helper(_products.csr_products).get()
    assert numba.config.CACHE_DIR == before
    X = _csr(np.random.default_rng(2), 50, 10)
    out = np.empty((50, _products.WIDTH))
    kernel(X.data, X.indices, X.indptr, np.ones((10, _products.WIDTH)), out)
    np.testing.assert_array_equal(out[:, 0], X @ np.ones(10))
    assert list((tmp_path / "kernels" / "helpers").rglob("*csr_products*.nbi"))
