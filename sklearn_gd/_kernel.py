"""Optional compiled epoch loop (numba), built from the same functions as the NumPy path.

``run_epoch`` in ``_engine.py`` walks the batches in Python, gathering each
batch's rows and handing the products to BLAS. That costs an interpreter round
trip per batch and a copy of every row per epoch, which dominates for small
batches (a one-row step in NumPy is ~100x slower than scikit-learn's Cython).
Here the same loop is compiled: rows are read in place (no gather), and the
loss, optimizer and proximal steps are the jitted versions of the very
functions in ``losses.py``, ``optimizers.py`` and ``penalties.py`` that the
NumPy path calls, so there is one implementation of the math; a test holds
both paths equal.

numba is an optional extra (``pip install 'sklearn-gd[fast]'``), imported only
when the compiled path is used. Compiling one combination of loss, rule and
input format takes seconds, so each is written once as a small module in a
cache directory (``SKLEARN_GD_CACHE``, default ``~/.cache/sklearn_gd``) whose
functions numba caches on disk: later processes load it in milliseconds.
"""

import importlib.util
import os
import sys
import tempfile
from functools import cache
from pathlib import Path

import numpy as np

from . import losses, optimizers

_ROW_OPS = {
    "dense": """
@njit(cache=True, inline="always")
def dot(X, i, theta, k, d):
    s = 0.0
    for f in range(d):
        s += X[i, f] * theta[k, f]
    return s


@njit(cache=True, inline="always")
def axpy(X, i, a, grad, k, d):
    for f in range(d):
        grad[k, f] += a * X[i, f]
""",
    "csr": """
@njit(cache=True, inline="always")
def dot(X, i, theta, k, d):
    data, indices, indptr = X
    s = 0.0
    for p in range(indptr[i], indptr[i + 1]):
        s += data[p] * theta[k, indices[p]]
    return s


@njit(cache=True, inline="always")
def axpy(X, i, a, grad, k, d):
    data, indices, indptr = X
    for p in range(indptr[i], indptr[i + 1]):
        grad[k, indices[p]] += a * data[p]
""",
}

# The batch loop of ``Trainer._numpy_loop``, with rows read in place.
_LOOP = """
@njit(cache=True)
def loop(X, d, Y, sw, order, starts, b, theta, slots, lrs, hyper, param, l2, l1,
         fit_intercept, clip_norm, decay, sq, lam, curvature, reference, mean_weight,
         avg, average_start, t, n_avg):
    n, K = order.shape[0], theta.shape[0]
    grad = np.zeros_like(theta)
    step = np.empty_like(theta)
    raw_buf = np.empty((b, K), dtype=theta.dtype)
    Y_buf = np.empty((b, K), dtype=Y.dtype)
    sw_buf = np.empty(b, dtype=sw.dtype)
    loss_sum = 0.0
    for kb in range(starts.shape[0]):
        s = starts[kb]
        nb = min(s + b, n) - s
        raw, Yb, swb = raw_buf[:nb], Y_buf[:nb], sw_buf[:nb]
        for j in range(nb):
            i = order[s + j]
            swb[j] = sw[i]
            for k in range(K):
                Yb[j, k] = Y[i, k]
                raw[j, k] = dot(X, i, theta, k, d) + (theta[k, d] if fit_intercept else 0.0)
        values = value_fn(Yb, raw, param)
        for j in range(nb):
            loss_sum += swb[j] * values[j]
        total = nb * mean_weight
        dloss = gradient_fn(Yb, raw, param)
        grad[:] = 0.0
        for j in range(nb):
            i = order[s + j]
            for k in range(K):
                a = dloss[j, k] * swb[j] / total
                axpy(X, i, a, grad, k, d)
                if fit_intercept:
                    grad[k, d] += a
        if l2 != 0.0:
            for k in range(K):
                for f in range(d):
                    grad[k, f] += l2 * theta[k, f]
        if clip_norm > 0.0:
            norm = np.sqrt((grad * grad).sum())
            if norm > clip_norm:
                grad *= clip_norm / norm
        lr = lrs[kb]
        if curvature > 0.0:
            m = 0.0
            for j in range(nb):
                m += swb[j] * sq[order[s + j]]
            m /= total
            lr *= bound_factor_fn(m, nb, n, lam, curvature, reference)
        t += 1
        rule_fn(theta, grad, slots, lr, t, hyper)
        if decay != 0.0:
            theta[:, :d] *= 1.0 - lr * decay
        if l1 != 0.0:
            effective_fn(slots, lr, t, hyper, step)
            prox_fn(theta[:, :d], l1 * step[:, :d])
        if average_start > 0 and t >= average_start:
            n_avg += 1
            avg += (theta - avg) / n_avg
    return loss_sum, t, n_avg
"""

_HEADER = """# Written by sklearn_gd._kernel for one combination; safe to delete.
import numpy as np
from numba import njit

from sklearn_gd._kernel import prepare_numba
from sklearn_gd.losses import {value} as _value, {gradient} as _gradient
from sklearn_gd.optimizers import {rule} as _rule, {effective} as _effective
from sklearn_gd._engine import bound_factor as _bound_factor
from sklearn_gd.penalties import soft_threshold as _prox

prepare_numba()
value_fn = njit(cache=True)(_value)
gradient_fn = njit(cache=True)(_gradient)
rule_fn = njit(cache=True)(_rule)
effective_fn = njit(cache=True)(_effective)
prox_fn = njit(cache=True)(_prox)
bound_factor_fn = njit(cache=True)(_bound_factor)
"""


def numba_available():
    """Whether numba can be imported."""
    return importlib.util.find_spec("numba") is not None


@cache
def prepare_numba():
    """Import numba and teach it the few helpers the loss and rule functions call."""
    try:
        from numba.extending import overload, register_jitable
    except ImportError as exc:
        raise ImportError(
            "engine='numba' needs numba, an optional extra: pip install 'sklearn-gd[fast]'"
        ) from exc

    @overload(losses.row_max)
    def _row_max(raw):  # NumPy's keepdims reduction, written out for numba
        def impl(raw):
            out = np.empty((raw.shape[0], 1), dtype=raw.dtype)
            for i in range(raw.shape[0]):
                out[i, 0] = raw[i].max()
            return out

        return impl

    register_jitable(optimizers._moments)


def _cache_dir():
    """``SKLEARN_GD_CACHE`` (default ``~/.cache/sklearn_gd``), or the temp dir if unwritable."""
    default = Path.home() / ".cache" / "sklearn_gd"
    folder = Path(os.environ.get("SKLEARN_GD_CACHE", default)) / "kernels"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only home: compile into the temp dir instead
        folder = Path(tempfile.gettempdir()) / "sklearn_gd_kernels"
        folder.mkdir(parents=True, exist_ok=True)
    return folder


@cache
def compiled_loop(value_function, gradient_function, rule, effective, sparse):
    """The compiled batch loop for one loss, one update rule and one input format."""
    prepare_numba()
    names = dict(
        value=value_function.__name__,
        gradient=gradient_function.__name__,
        rule=rule.__name__,
        effective=effective.__name__,
    )
    fmt = "csr" if sparse else "dense"
    source = _HEADER.format(**names) + _ROW_OPS[fmt] + _LOOP
    from . import __version__

    stem = "_".join([*names.values(), fmt, __version__.replace(".", "_")])
    path = _cache_dir() / f"loop_{stem}.py"
    # Rewrite only when the source changed: numba's cache is keyed to the file.
    if not path.exists() or path.read_text() != source:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(source)
        os.replace(tmp, path)
    name = f"sklearn_gd_kernel_{stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    # numba's disk cache finds the functions' module again by name.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.loop
