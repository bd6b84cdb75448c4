"""Optional compiled epoch loop (numba), built from the same functions as the NumPy path.

``run_epoch`` in ``_engine.py`` walks the batches in Python, gathering each
batch's rows and handing the products to BLAS. That costs an interpreter round
trip per batch and a copy of every row per epoch, which dominates for small
batches (a one-row step in NumPy is ~100x slower than scikit-learn's Cython).
Here the same loop is compiled: rows are read in place (no gather), and the
loss gradient, optimizer and proximal steps are the jitted versions of the
very functions in ``losses.py``, ``optimizers.py`` and ``penalties.py`` that
the NumPy path calls, so there is one implementation of the math; a test
holds both paths equal. Those functions are elementwise, so here they run on
one number at a time and a step allocates nothing. The loss value is not
needed to step: as on the NumPy path, each row's raw prediction is stored in
``raws`` and ``run_epoch`` evaluates the epoch's loss from them afterwards,
vectorised (a ``log1p`` per row in the loop was a fifth of a row's time).

numba is imported only when the compiled path is used. Compiling one combination
of loss, rule and input format takes seconds, so each is written once as a small
module whose functions numba caches on disk: later processes load it in
milliseconds. The module imports each function from where it is defined (a
user's optimizer included), helpers they call are registered with numba here,
and its name hashes the source of all it compiles, so edited math never runs
stale. The folder is ``SKLEARN_GD_CACHE``, else the user cache folder; a cache
that cannot be used costs a warning and a compilation in memory, never a fit.
"""

import atexit
import dis
import hashlib
import importlib.metadata
import importlib.util
import inspect
import os
import re
import shutil
import sys
import tempfile
import traceback
import types
import warnings
from functools import cache
from pathlib import Path

import numpy as np

from . import losses, optimizers

# Rows come in shuffled order, so each is a cache miss: ``fetch`` asks for the
# row ``AHEAD`` places on while this one is worked on. ``row_value`` reads
# ``x_if`` for every ``f`` in turn: a CSR row is first scattered into the dense
# buffer ``xrow`` (``load_row``), and cleared from it afterwards. Only the row
# products may be reassociated (vectorised), as BLAS does; the loss and the
# rules keep IEEE semantics (NaN and inf must still show divergence).
_ROW_OPS = {
    "dense": """
@njit(cache=True, inline="always")
def fetch_row(X, i, d):
    for f in range(0, d, 8):
        prefetch(X, (i, f))


@njit(cache=True, fastmath={"reassoc", "contract"})
def dot(X, i, theta, k, d):
    s = 0.0
    for f in range(d):
        s += X[i, f] * theta[k, f]
    return s


@njit(cache=True, inline="always")
def load_row(X, i, xrow):
    pass


@njit(cache=True, inline="always")
def row_value(X, i, f, xrow):
    return X[i, f]


@njit(cache=True, inline="always")
def unload_row(X, i, xrow):
    pass


@njit(cache=True, fastmath={"reassoc", "contract"})
def axpy(X, i, a, grad, k, d, first):
    if first:
        for f in range(d):
            grad[k, f] = a * X[i, f]
    else:
        for f in range(d):
            grad[k, f] += a * X[i, f]


@njit(cache=True, fastmath={"reassoc", "contract"})
def axpy4(X, rows, p, a, j, grad, k, d, first):
    i0, i1, i2, i3 = rows[p], rows[p + 1], rows[p + 2], rows[p + 3]
    a0, a1, a2, a3 = a[j], a[j + 1], a[j + 2], a[j + 3]
    if first:
        for f in range(d):
            grad[k, f] = a0 * X[i0, f] + a1 * X[i1, f] + a2 * X[i2, f] + a3 * X[i3, f]
    else:
        for f in range(d):
            grad[k, f] += a0 * X[i0, f] + a1 * X[i1, f] + a2 * X[i2, f] + a3 * X[i3, f]
""",
    "csr": """
@njit(cache=True, inline="always")
def fetch_row(X, i, d):
    data, indices, indptr = X
    p = indptr[i]
    if p < data.shape[0]:
        prefetch(data, p)
        prefetch(indices, p)


@njit(cache=True)
def dot(X, i, theta, k, d):
    data, indices, indptr = X
    s = 0.0
    for p in range(indptr[i], indptr[i + 1]):
        s += data[p] * theta[k, indices[p]]
    return s


@njit(cache=True, inline="always")
def load_row(X, i, xrow):
    data, indices, indptr = X
    for p in range(indptr[i], indptr[i + 1]):
        xrow[indices[p]] += data[p]  # += : CSR may repeat an index, which then adds up


@njit(cache=True, inline="always")
def row_value(X, i, f, xrow):
    return xrow[f]


@njit(cache=True, inline="always")
def unload_row(X, i, xrow):
    data, indices, indptr = X
    for p in range(indptr[i], indptr[i + 1]):
        xrow[indices[p]] = 0.0


@njit(cache=True)
def axpy(X, i, a, grad, k, d, first):
    data, indices, indptr = X
    if first:
        grad[k, :d] = 0.0
    for p in range(indptr[i], indptr[i + 1]):
        grad[k, indices[p]] += a * data[p]


@njit(cache=True, inline="always")
def axpy4(X, rows, p, a, j, grad, k, d, first):
    for q in range(4):
        axpy(X, rows[p + q], a[j + q], grad, k, d, first and q == 0)
""",
}

# ``fetch`` asks for everything the loop reads or writes of row ``i``.
_FETCH = """
@njit(cache=True, inline="always")
def fetch(X, Y, sw, sq, raws, i, d):
    fetch_row(X, i, d)
    prefetch(Y, (i, 0))
    prefetch(sw, i)
    prefetch(sq, i)
    prefetch(raws, (i, 0))
"""

# ``grad[k] = sum_j a[j] * [x_order[s + j], 1]`` over the batch. Four rows at a time
# (``axpy4``: rows ``order[p:p + 4]`` times ``a[j:j + 4]``), so that ``grad[k]`` is
# loaded and stored once per four rows rather than once per row.
_ADD_ROWS = """
@njit(cache=True, inline="always")
def add_rows(X, d, order, s, nb, a, grad, k, fit_intercept):
    for j in range(0, nb - 3, 4):
        axpy4(X, order, s + j, a, j, grad, k, d, j == 0)
    for j in range(nb - nb % 4, nb):
        axpy(X, order[s + j], a[j], grad, k, d, j == 0)
    if fit_intercept:
        for j in range(nb):
            grad[k, d] += a[j]
"""

# The batch ``order[s:s + nb]``: its raw predictions go to ``raws`` and the
# gradient of its data term (``sum sw * dloss/draw * [x, 1] / total``) into
# ``grad``. Elementwise losses go in three sweeps over the batch (products,
# loss gradients, gradient) so that each sweep's rows are independent of one
# another and overlap in the pipeline; ``buf`` holds one number per row...
_BATCH = {
    False: """
@njit(cache=True, inline="always")
def batch_gradient(X, d, Y, sw, sq, order, s, nb, theta, fit_intercept, param, total, grad,
                   buf, raws):
    grad[:, d] = 0.0
    for k in range(theta.shape[0]):
        for j in range(nb):
            if s + j + AHEAD < order.shape[0]:
                fetch(X, Y, sw, sq, raws, order[s + j + AHEAD], d)
            i = order[s + j]
            buf[j] = dot(X, i, theta, k, d) + (theta[k, d] if fit_intercept else 0.0)
        for j in range(nb):
            i = order[s + j]
            raws[i, k] = buf[j]
            buf[j] = gradient_fn(Y[i, k], buf[j], param) * (sw[i] / total)
        add_rows(X, d, order, s, nb, buf, grad, k, fit_intercept)
""",
    # ... row-wise ones (softmax) take the batch's gathered rows at once.
    True: """
@njit(cache=True, inline="always")
def batch_gradient(X, d, Y, sw, sq, order, s, nb, theta, fit_intercept, param, total, grad,
                   buf, raws):
    K = theta.shape[0]
    raw = np.empty((nb, K), dtype=theta.dtype)
    Yb = np.empty((nb, K), dtype=Y.dtype)
    swb = np.empty(nb, dtype=sw.dtype)
    for j in range(nb):
        if s + j + AHEAD < order.shape[0]:
            fetch(X, Y, sw, sq, raws, order[s + j + AHEAD], d)
        i = order[s + j]
        swb[j] = sw[i]
        for k in range(K):
            Yb[j, k] = Y[i, k]
            raw[j, k] = dot(X, i, theta, k, d) + (theta[k, d] if fit_intercept else 0.0)
            raws[i, k] = raw[j, k]
    gradient = gradient_fn(Yb, raw, param) * (swb / total)[:, None]
    grad[:, d] = 0.0
    for k in range(K):
        add_rows(X, d, order, s, nb, gradient[:, k], grad, k, fit_intercept)
""",
}

# One optimizer step, one coordinate at a time: the rule, AdamW's decay and the
# L1 prox (neither on the intercept column ``d``). ``{read}`` and ``{write}`` move
# the coordinate's slots in and out of the rule's tuple. ``t`` is a float, as
# in Python, so that ``beta ** t`` is one ``pow`` hoisted out of the loop.
_UPDATE = """
@njit(cache=True, inline="always")
def coordinate(theta, g, slots, k, f, lr, t, hyper, decay, l1):
    value = theta[k, f]
    if decay != 0.0:  # AdamW: theta * (1 - lr * decay) before the step (Algorithm 2)
        value *= 1.0 - lr * decay
    value, new = rule_fn(value, g, {read}, lr, t, hyper)
    {write}
    if l1 != 0.0:
        value = prox_fn(value, l1 * effective_fn(new, lr, t, hyper))
    return value


@njit(cache=True, inline="always")
def update(theta, grad, slots, lr, t, hyper, d, decay, l1):
    for k in range(theta.shape[0]):
        for f in range(d):
            theta[k, f] = coordinate(theta, grad[k, f], slots, k, f, lr, t, hyper, decay, l1)
        theta[k, d] = coordinate(theta, grad[k, d], slots, k, d, lr, t, hyper, 0.0, 0.0)


# One-row steps take the L1 part as the cumulative penalty ``(u, q)`` of
# ``penalties.cumulative_l1`` instead of the prox, in a pass of its own after the
# step (as in ``Trainer._numpy_loop``): a branch for it inside ``coordinate``
# made the plain row step 3.5x slower, even where it was never taken (measured).
@njit(cache=True)
def cumulative_penalty(theta, slots, k, d, lr, t, hyper, l1, u, q):
    for f in range(d):
        u[k, f] += l1 * effective_fn({read}, lr, t, hyper)
        theta[k, f], q[k, f] = cumulative_fn(theta[k, f], u[k, f], q[k, f])
"""

# A step of size ``lr`` on the batch ``order[s:s + nb]``. The penalty's gradient
# is added (or, for the plain rule past ``lr * l2 = 1``, its shrink clamped at 0)
# and the whole gradient clipped before the update, as in ``Trainer._numpy_loop``.
# Returns ``alpha * R`` at the weights the step starts from.
_BATCH_STEP = """
# ``alpha * R`` of the coefficients, for the loss curve: a sum, which may be
# reassociated (vectorised) as NumPy's is.
@njit(cache=True, fastmath={"reassoc", "contract"})
def penalty_at(theta, d, l2, l1):
    s2 = 0.0
    s1 = 0.0
    for k in range(theta.shape[0]):
        for f in range(d):
            s2 += theta[k, f] * theta[k, f]
            s1 += abs(theta[k, f])
    return 0.5 * l2 * s2 + l1 * s1


@njit(cache=True, inline="always")
def batch_step(X, d, Y, sw, sq, order, s, nb, theta, slots, fit_intercept, param, total,
               l2, clip_norm, lr, t, hyper, decay, l1, grad, buf, raws, linear, cumulative,
               u, q):
    pen = 0.0
    if l2 != 0.0 or l1 != 0.0:
        pen = penalty_at(theta, d, l2, l1)
    batch_gradient(X, d, Y, sw, sq, order, s, nb, theta, fit_intercept, param, total, grad,
                   buf, raws)
    if linear and lr * l2 > 1.0:
        for k in range(theta.shape[0]):
            for f in range(d):
                theta[k, f] = 0.0
    elif l2 != 0.0:
        for k in range(theta.shape[0]):
            for f in range(d):
                grad[k, f] += l2 * theta[k, f]
    if clip_norm > 0.0:
        norm = 0.0
        for k in range(theta.shape[0]):
            for f in range(d + 1):
                norm += grad[k, f] * grad[k, f]
        norm = np.sqrt(norm)
        if norm > clip_norm:
            grad *= clip_norm / norm
    update(theta, grad, slots, lr, t, hyper, d, decay, 0.0 if cumulative else l1)
    if cumulative and l1 != 0.0:
        for k in range(theta.shape[0]):
            cumulative_penalty(theta, slots, k, d, lr, t, hyper, l1, u, q)
    return pen
"""

# Per-sample steps with an elementwise loss skip ``grad``: each coordinate's
# gradient ``a * x_f + l2 * theta_f`` goes straight into its update, one pass
# over the weights instead of three (the row's gradient, the penalty, the
# rule), with no gradient stored and loaded back. This halves the time of a
# dense row at d=20, and of a sparse one. Clipping needs the whole gradient
# first, so it takes the batch step. Without AdamW's decay or an L1 prox (the
# defaults) the coordinate loop is written a second time with both switched
# off, which numba then drops from it: 8% of a row at d=20 (measured).
_ROW_STEP = {
    True: """
@njit(cache=True, inline="always")
def row_coordinates(X, d, i, theta, slots, k, a, l2, lr, t, hyper, decay, l1, xrow):
    for f in range(d):
        g = a * row_value(X, i, f, xrow)
        if l2 != 0.0:
            g += l2 * theta[k, f]
        theta[k, f] = coordinate(theta, g, slots, k, f, lr, t, hyper, decay, l1)


@njit(cache=True, inline="always")
def row_step(X, d, Y, sw, i, theta, slots, fit_intercept, param, total, l2, lr, t, hyper,
             decay, l1, xrow, raws):
    load_row(X, i, xrow)
    for k in range(theta.shape[0]):
        raw = dot(X, i, theta, k, d) + (theta[k, d] if fit_intercept else 0.0)
        raws[i, k] = raw
        a = gradient_fn(Y[i, k], raw, param) * (sw[i] / total)
        if decay == 0.0 and l1 == 0.0:
            row_coordinates(X, d, i, theta, slots, k, a, l2, lr, t, hyper, 0.0, 0.0, xrow)
        else:
            row_coordinates(X, d, i, theta, slots, k, a, l2, lr, t, hyper, decay, l1, xrow)
        a = a if fit_intercept else 0.0
        theta[k, d] = coordinate(theta, a, slots, k, d, lr, t, hyper, 0.0, 0.0)
    unload_row(X, i, xrow)
""",
    False: "",
}

# Per-sample plain SGD on sparse rows costs O(nnz) per step, not O(n_features),
# as in scikit-learn's SGD: the L2 decay, which moves every weight, is kept as one
# number per output (``coef = scale * v``), and the iterate average as
# ``avg = (A + alpha * v) / beta`` (Xu 2011; scikit-learn's ASGD), where only the
# row's coordinates of ``A`` change. ``theta[:, :d]`` holds ``v`` and ``avg[:, :d]``
# holds ``A`` until ``materialize`` writes both out. The rule is still ``rule_fn``:
# a linear rule (``Optimizer.linear``) steps ``v`` with the gradient over ``scale``.
# For the loss curve, ``vsq[k]`` follows ``||v_k||^2`` (updated with each touched
# coordinate, recomputed when written out), so ``alpha * R = l2 / 2 * scale^2 * vsq``.
_LAZY = {
    True: """
@njit(cache=True, inline="always")
def materialize(theta, avg, k, d, scale, alpha, beta, vsq):
    if alpha[k] != 0.0 or beta[k] != 1.0:
        for f in range(d):
            avg[k, f] = (avg[k, f] + alpha[k] * theta[k, f]) / beta[k]
    for f in range(d):
        theta[k, f] *= scale[k]
    scale[k], alpha[k], beta[k] = 1.0, 0.0, 1.0
    vsq[k] = 0.0
    for f in range(d):
        vsq[k] += theta[k, f] * theta[k, f]


@njit(cache=True)
def lazy_loop(X, d, Y, sw, order, starts, theta, lrs, hyper, param, l2, fit_intercept, sq,
              safe, mean_weight, avg, average_start, t, n_avg, raws):
    data, indices, indptr = X
    n, K = order.shape[0], theta.shape[0]
    scale, alpha, beta, vsq = np.ones(K), np.zeros(K), np.ones(K), np.zeros(K)
    for k in range(K):
        for f in range(d):
            vsq[k] += theta[k, f] * theta[k, f]
    pen = 0.0
    for kb in range(starts.shape[0]):
        s = starts[kb]
        i = order[s]
        if s + AHEAD < n:
            fetch(X, Y, sw, sq, raws, order[s + AHEAD], d)
        t += 1
        lr = lrs[kb]
        if safe:
            lr *= bound_factor_fn(lr, sw[i] * sq[i], mean_weight)
        averaging = average_start > 0 and t >= average_start
        if averaging:
            n_avg += 1
        for k in range(K):
            if l2 != 0.0:
                pen += sw[i] * (0.5 * l2 * (scale[k] * scale[k] * vsq[k]))
            raw = scale[k] * dot(X, i, theta, k, d) + (theta[k, d] if fit_intercept else 0.0)
            raws[i, k] = raw
            a = gradient_fn(Y[i, k], raw, param) * (sw[i] / mean_weight)
            # Clamped at 0 as scikit-learn's SGD does; a scale of 0 is written out below.
            scale[k] *= max(0.0, 1.0 - lr * l2)
            # Write out before v outgrows its range (or the scale reaches 0), and before
            # A + alpha * v cancels more than a digit: under a fast decay (large
            # lr * alpha), alpha * v outgrows the average (measured: 1e-11 relative
            # error with scale < 1e-9 as the only check, 1e-15 with this one too).
            if scale[k] < 1e-9 or alpha[k] > 10.0 * beta[k] * scale[k]:
                materialize(theta, avg, k, d, scale, alpha, beta, vsq)
            for p in range(indptr[i], indptr[i + 1]):
                f = indices[p]
                v = rule_fn(theta[k, f], a * data[p] / scale[k], (), lr, t, hyper)[0]
                if averaging:
                    avg[k, f] -= alpha[k] * (v - theta[k, f])
                vsq[k] += v * v - theta[k, f] * theta[k, f]
                theta[k, f] = v
            a = a if fit_intercept else 0.0
            theta[k, d] = rule_fn(theta[k, d], a, (), lr, t, hyper)[0]
            if averaging:
                share = 1.0 / n_avg
                if n_avg == 1:  # the average starts at this iterate
                    for f in range(d):
                        avg[k, f] = 0.0
                    alpha[k], beta[k] = scale[k], 1.0
                else:
                    beta[k] /= 1.0 - share
                    alpha[k] += share * scale[k] * beta[k]
                avg[k, d] += (theta[k, d] - avg[k, d]) * share
    for k in range(K):
        materialize(theta, avg, k, d, scale, alpha, beta, vsq)
    return t, n_avg, pen
""",
    False: "",
}

# The batch loop of ``Trainer._numpy_loop``, with rows read in place. Returns the
# step count, the averaged iterates and ``sum_B sum(sw_B) * alpha * R(w_B)`` (the
# loss curve's penalty). ``run_epoch`` counts the steps ``safe_steps`` bounds: a
# counter here made the row step 3x slower (measured, d=20).
_LOOP = """
@njit(cache=True)
def loop(X, d, Y, sw, order, starts, b, theta, slots, lrs, hyper, param, l2, l1,
         fit_intercept, clip_norm, decay, sq, safe, linear, cumulative, u, q, mean_weight,
         avg, average_start, t, n_avg, raws):
    if LAZY and b == 1 and clip_norm == 0.0 and l1 == 0.0 and decay == 0.0:
        return lazy_loop(X, d, Y, sw, order, starts, theta, lrs, hyper, param, l2,
                         fit_intercept, sq, safe, mean_weight, avg, average_start, t, n_avg,
                         raws)
    n, K = order.shape[0], theta.shape[0]
    grad = np.zeros_like(theta)
    buf = np.empty(b, dtype=theta.dtype)
    xrow = np.zeros(d, dtype=theta.dtype)
    pen = 0.0
    for kb in range(starts.shape[0]):
        s = starts[kb]
        nb = min(s + b, n) - s
        total = nb * mean_weight
        t += 1
        lr = lrs[kb]
        # safe_steps (Trainer._safe_rows, bound_factor): one-row batches only.
        # ``ROW_STEP`` is a constant: numba drops the branch where it is False.
        # A plain rule's step past lr * l2 = 1 (its shrink clamped at 0) takes the
        # batch step, which computes the gradient before it zeroes the weights.
        if ROW_STEP and nb == 1 and clip_norm == 0.0 and not (linear and lr * l2 > 1.0):
            i = order[s]
            if s + AHEAD < n:
                fetch(X, Y, sw, sq, raws, order[s + AHEAD], d)
            if safe:
                lr *= bound_factor_fn(lr, sw[i] * sq[i], total)
            # The curve's penalty and the cumulative L1 stay out of row_step: inside
            # it they made the plain row step 3x slower (measured).
            if l2 != 0.0 or l1 != 0.0:
                pen += sw[i] * penalty_at(theta, d, l2, l1)
            row_step(X, d, Y, sw, i, theta, slots, fit_intercept, param, total, l2, lr,
                     float(t), hyper, decay, 0.0 if cumulative else l1, xrow, raws)
            if cumulative and l1 != 0.0:
                for k in range(K):
                    cumulative_penalty(theta, slots, k, d, lr, float(t), hyper, l1, u, q)
        else:
            weight = 0.0
            curv = 0.0
            for j in range(nb):
                weight += sw[order[s + j]]
                if safe:
                    curv += sw[order[s + j]] * sq[order[s + j]]
            if safe:
                lr *= bound_factor_fn(lr, curv, total)
            pen += weight * batch_step(X, d, Y, sw, sq, order, s, nb, theta, slots,
                                       fit_intercept, param, total, l2, clip_norm, lr,
                                       float(t), hyper, decay, l1, grad, buf, raws, linear,
                                       cumulative, u, q)
        if average_start > 0 and t >= average_start:
            n_avg += 1
            # One division per step, not per coordinate (a step is ~70 ns at d=20).
            share = 1.0 / n_avg
            for k in range(K):
                for f in range(d + 1):
                    avg[k, f] += (theta[k, f] - avg[k, f]) * share
    return t, n_avg, pen
"""

# The generated module: its bindings block (each bound function imported from
# where it is defined) and the fragments above. ``CACHE`` is False when the module
# is compiled in memory (no usable cache folder): its functions then skip numba's
# disk cache whatever their decorators say.
_HEADER = """# Written by sklearn_gd._kernel for one combination; safe to delete.
from numba import njit as _njit

import numpy as np

from sklearn_gd._kernel import prepare_numba

# --- bindings (generated) ---
{bindings}
# --- end of bindings ---

CACHE = {cache}


def njit(**options):
    # NumPy's rules for float division (inf or nan, never an exception), as on the
    # NumPy path; Python's rules would also cost a branch per division.
    options.update(error_model="numpy", cache=CACHE and options.get("cache", False))
    return _njit(**options)


prefetch = prepare_numba()
AHEAD = 8
ROW_STEP = {row_step}
LAZY = {lazy}
# Not cached on their own: they are inlined into the loop, whose cache holds them,
# and a user's function may live where numba cannot write a cache.
gradient_fn = _njit(inline="always", error_model="numpy")(_gradient)
rule_fn = _njit(inline="always", error_model="numpy")(_rule)
effective_fn = _njit(inline="always", error_model="numpy")(_effective)
prox_fn = _njit(inline="always", error_model="numpy")(_prox)
bound_factor_fn = _njit(inline="always", error_model="numpy")(_bound_factor)
cumulative_fn = _njit(inline="always", error_model="numpy")(_cumulative)
"""


class CompileError(RuntimeError):
    """The compiled loop cannot run this loss and optimizer (the message says why)."""


def numba_available():
    """Whether numba can be imported."""
    return importlib.util.find_spec("numba") is not None


@cache
def prepare_numba():
    """Import numba, teach it the NumPy idioms the loss functions use, and return
    ``prefetch(array, index)``, a cache hint for the address of one item."""
    try:
        from llvmlite import ir
        from numba import types
        from numba.core import cgutils
        from numba.extending import intrinsic, overload
    except ImportError as exc:
        raise ImportError(
            "the compiled loop needs numba, which could not be imported: pip install numba"
        ) from exc

    @overload(losses.row_max)
    def _row_max(raw):  # NumPy's keepdims reduction, written out for numba
        def impl(raw):
            out = np.empty((raw.shape[0], 1), dtype=raw.dtype)
            for i in range(raw.shape[0]):
                out[i, 0] = raw[i].max()
            return out

        return impl

    @overload(losses.where)
    def _where(condition, x, y):  # numba's np.where makes a 0-d array of numbers
        if isinstance(condition, types.Array):
            return lambda condition, x, y: np.where(condition, x, y)
        return lambda condition, x, y: x if condition else y

    @intrinsic
    def prefetch(typingctx, array, index):
        def codegen(context, builder, signature, args):
            array_type, index_type = signature.args
            indices = cgutils.unpack_tuple(builder, args[1]) if isinstance(
                index_type, types.BaseTuple) else [args[1]]  # fmt: skip
            data = context.make_array(array_type)(context, builder, args[0])
            ptr = cgutils.get_item_pointer(context, builder, array_type, data, indices,
                                           wraparound=False)  # fmt: skip
            i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                "llvm.prefetch.p0i8",
            )  # fmt: skip
            # read, keep in all cache levels, data cache
            builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
            return context.get_dummy_value()

        return types.void(array, index), codegen

    return prefetch


# --- what a kernel is made of ---------------------------------------------------------

# Functions numba already knows (its own overloads of NumPy and math), or that
# ``prepare_numba`` overloads by hand: never registered as helpers.
_KNOWN_PACKAGES = {"numpy", "scipy", "numba", "math", "cmath", "operator", "builtins"}
_HAND_OVERLOADED = {losses.row_max, losses.where}


@cache
def compilable(loss, optimizer, l1=False):
    """None when the compiled loop runs this ``Loss`` and ``Optimizer`` class exactly
    as the NumPy loop would (``l1``: with an L1 prox), else the reason why not."""
    name = f"optimizer {optimizer.__module__}.{optimizer.__qualname__}"
    if optimizer.rule is None:
        return f"{name} has no rule function (only the NumPy loop runs its step())"
    for method in ("step", "effective_step", "init"):
        if getattr(optimizer, method) is not getattr(optimizers.Optimizer, method):
            return f"{name} overrides {method}(), which the compiled loop cannot run"
    if l1 and optimizer.effective is None:
        return f"{name} has no effective function, which the L1 prox needs"
    name = f"loss {loss.__module__}.{loss.__qualname__}"
    if loss.gradient_function is None:
        return f"{name} has no gradient_function"
    if loss.gradient is not losses.Loss.gradient:
        return f"{name} overrides gradient(), which the compiled loop cannot run"
    return None


def _code_objects(code):
    """``code`` and the code objects nested in it (comprehensions, lambdas)."""
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _referenced(fn):
    """The global and closure values ``fn`` reads, by name (numba freezes them)."""
    loads = ("LOAD_GLOBAL", "LOAD_NAME")
    names = {ins.argval for code in _code_objects(fn.__code__)
             for ins in dis.get_instructions(code) if ins.opname in loads}  # fmt: skip
    values = {name: fn.__globals__[name] for name in names if name in fn.__globals__}
    cells = zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=True)
    values.update((name, cell.cell_contents) for name, cell in cells)
    return dict(sorted(values.items()))


def _is_helper(value):
    """A plain Python function numba must be taught to compile."""
    return (
        isinstance(value, types.FunctionType)
        and value not in _HAND_OVERLOADED
        and (value.__module__ or "").partition(".")[0] not in _KNOWN_PACKAGES
    )


def _helpers(functions):
    """The helpers ``functions`` call, directly or through one another."""
    found, todo = [], list(functions)
    while todo:
        for value in _referenced(todo.pop()).values():
            if _is_helper(value) and value not in found and value not in functions:
                found.append(value)
                todo.append(value)
    return found


def _digest(functions):
    """A hash of what numba compiles of ``functions``: their code, their source (when
    it can be read) and the plain values they read from their globals."""
    h = hashlib.sha256()
    for fn in functions:
        h.update(f"{fn.__module__}.{fn.__qualname__}\0".encode())
        for code in _code_objects(fn.__code__):
            h.update(code.co_code)
            h.update(repr((code.co_names, code.co_varnames, code.co_freevars)).encode())
            consts = [c for c in code.co_consts if not isinstance(c, types.CodeType)]
            h.update(repr(consts).encode())
        try:
            h.update(inspect.getsource(fn).encode())
        except (OSError, TypeError):  # defined in a string or a REPL: the code says it all
            pass
        for name, value in _referenced(fn).items():
            if isinstance(value, (bool, int, float, complex, str, bytes, tuple)):
                h.update(f"{name}={value!r}\0".encode())
    return h.hexdigest()


def _bound_functions(loss, optimizer):
    """The functions the loop compiles, by the name the generated module gives them."""
    from ._engine import bound_factor  # _engine imports this module
    from .penalties import cumulative_l1, soft_threshold

    return {
        "_gradient": loss.gradient_function,
        "_rule": optimizer.rule,
        "_effective": optimizer.effective or optimizers.sgd_effective,  # unused without L1
        "_prox": soft_threshold,
        "_bound_factor": bound_factor,
        "_cumulative": cumulative_l1,
    }


def _importable(fn):
    """Whether ``from fn.__module__ import ...`` finds ``fn`` itself."""
    if "<" in fn.__qualname__ or fn.__module__ not in sys.modules:
        return False
    value = sys.modules[fn.__module__]
    for part in fn.__qualname__.split("."):
        value = getattr(value, part, None)
    return value is fn


def _bindings(bound):
    """The bindings block: each function imported from where it is defined, or, if it
    cannot be imported (defined inside a function), taken from ``BINDINGS``."""
    lines = []
    for name, fn in bound.items():
        if _importable(fn):
            head, _, rest = fn.__qualname__.partition(".")
            lines.append(f"from {fn.__module__} import {head} as {name}")
            if rest:
                lines.append(f"{name} = {name}.{rest}")
        else:
            lines.append(f"{name} = BINDINGS[{name!r}]  # {fn.__module__}.{fn.__qualname__}")
    return "\n".join(lines)


def kernel_source(loss, optimizer, sparse, cache=True):
    """The generated module's source and its stem (a name that hashes what it
    compiles: the source of every bound function and helper, the fragments and the
    versions of sklearn-gd and numba)."""
    from . import __version__

    bound = _bound_functions(loss, optimizer)
    fmt = "csr" if sparse else "dense"
    n_slots = len(optimizer.slots)
    read = "(" + "".join(f"slots[{i}][k, f], " for i in range(n_slots)) + ")"
    write = "\n    ".join(f"slots[{i}][k, f] = new[{i}]" for i in range(n_slots))
    update = _UPDATE.format(read=read, write=write or "pass")
    row_step = not loss.rowwise
    lazy = row_step and optimizer.linear and sparse
    header = _HEADER.format(bindings=_bindings(bound), cache=cache, row_step=row_step, lazy=lazy)
    source = "".join(
        [header, _ROW_OPS[fmt], _FETCH, _ADD_ROWS, _BATCH[loss.rowwise], update, _BATCH_STEP,
         _ROW_STEP[row_step], _LAZY[lazy], _LOOP]
    )  # fmt: skip
    functions = [*bound.values()]
    functions += _helpers(functions)
    h = hashlib.sha256(source.encode())
    h.update(_digest(functions).encode())
    h.update(f"{__version__} {importlib.metadata.version('numba')}".encode())
    names = "_".join(re.sub(r"\W", "_", fn.__name__) for fn in (bound["_rule"], bound["_gradient"]))
    return source, f"loop_{names}_{fmt}_{h.hexdigest()[:20]}"


def kernel_key(loss, optimizer, sparse):
    """The name the compiled loop is cached under (changes with any source it compiles)."""
    return kernel_source(loss, optimizer, sparse)[1]


# --- the cache folder ------------------------------------------------------------------


def _warn(message):
    warnings.warn(message, UserWarning, stacklevel=2)


_warned = set()


def warn_once(key, message):
    """Warn about ``key`` once per process (a stream of calls would repeat it)."""
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, UserWarning, stacklevel=3)


def _user_cache_root():
    """The platform's per-user cache folder, or None when there is no home to find it."""
    try:
        import platformdirs
    except ImportError:
        pass
    else:
        try:
            return Path(platformdirs.user_cache_dir("sklearn_gd", appauthor=False))
        except (RuntimeError, KeyError, OSError):
            return None
    try:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    except (RuntimeError, KeyError, OSError):  # no HOME and no entry in the password database
        return None
    return Path(base) / "sklearn_gd"


def _writable(folder):
    """Create ``folder`` if needed and check that a file can be written in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return False
    return True


@cache
def _private_dir():
    """A folder of this process's own (``mkdtemp``: mode 0700), removed at exit."""
    try:
        folder = tempfile.mkdtemp(prefix="sklearn_gd_kernels_")
    except OSError:
        return None
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return Path(folder)


@cache
def _resolve_cache_dir(env, xdg, home):
    """The kernel folder for these values of ``SKLEARN_GD_CACHE``, ``XDG_CACHE_HOME`` and
    ``HOME`` (arguments only to key the memo); None to compile in memory."""
    root = Path(env) if env else _user_cache_root()
    if root is not None and _writable(root / "kernels"):
        return root / "kernels"
    fallback = _private_dir()
    where = (
        f"the kernel cache folder {root / 'kernels'} cannot be written"
        if root is not None
        else "no user cache folder could be found (no home directory)"
    )
    _warn(
        f"sklearn-gd: {where}; compiled kernels go to "
        + (f"the private temporary folder {fallback}" if fallback else "memory only")
        + " for this process and will be compiled again by the next one. Set "
        "SKLEARN_GD_CACHE to a writable folder to keep them."
    )
    return fallback


_CACHE_VARIABLES = ("SKLEARN_GD_CACHE", "XDG_CACHE_HOME", "HOME")


def _cache_dir():
    """Where compiled kernels are kept: ``SKLEARN_GD_CACHE``, else the user cache folder
    (``platformdirs``, else ``XDG_CACHE_HOME`` or ``~/.cache``), else a private
    temporary folder (with a warning); None when nothing can be written."""
    return _resolve_cache_dir(*(os.environ.get(name) for name in _CACHE_VARIABLES))


# --- loading and running ---------------------------------------------------------------

# (loss, optimizer, sparse, folder) -> the loop (folder None: compiled in memory), or
# _IN_MEMORY where the folder's cache failed it.
_loops = {}
_IN_MEMORY = object()
_ready = {}  # (loss, optimizer, sparse, *the cache variables) -> the loop that ran last
_failures = {}  # (loss, optimizer, sparse) -> why it cannot compile


def _load(loss, optimizer, sparse, folder):
    """Write (if needed) and import the generated module; return its ``loop``."""
    bound = _bound_functions(loss, optimizer)
    for helper in _helpers(list(bound.values())):
        _register(helper)
    source, stem = kernel_source(loss, optimizer, sparse, cache=folder is not None)
    name = f"sklearn_gd_kernel_{stem}" + ("" if folder is not None else "_memory")
    module = types.ModuleType(name)
    module.BINDINGS = bound
    if folder is None:
        module.__file__ = f"<{name}>"
        code = compile(source, module.__file__, "exec")
    else:
        path = folder / f"{stem}.py"
        try:
            current = path.read_text() if path.exists() else source
        except (OSError, UnicodeDecodeError):
            current = None
        if current != source:  # its name hashes its content: it was damaged
            _warn(f"sklearn-gd: the compiled kernel {path} was damaged; writing it again.")
        # Rewrite only when the source changed: numba's cache is keyed to the file.
        if not path.exists() or current != source:
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(source)
            os.replace(tmp, path)
        module.__file__ = str(path)
        code = compile(source, str(path), "exec")
    # numba's disk cache finds the functions' module again by name.
    sys.modules[name] = module
    exec(code, module.__dict__)
    return module.loop


@cache
def _register(helper):
    """Let numba compile ``helper`` where a rule or loss function calls it."""
    from numba.extending import register_jitable

    register_jitable(helper)


def _origin(exc):
    """Where ``exc`` came from: 'cache' (numba's disk cache), 'compile' (numba), or
    'run' (the compiled loop itself, which raises with no numba frame)."""
    import numba

    root = os.path.dirname(numba.__file__)
    files = [frame.filename for frame in traceback.extract_tb(exc.__traceback__)]
    if any(f.startswith(root) and f.endswith("caching.py") for f in files):
        return "cache"
    return "compile" if any(f.startswith(root) for f in files) else "run"


class _CacheError(OSError):
    """Writing a kernel into the cache folder failed."""


def _forget(folder, stem):
    """Remove one kernel's files from the cache (a damaged index would fail forever)."""
    for path in [folder / f"{stem}.py", *(folder / "__pycache__").glob(f"{stem}.*")]:
        try:
            path.unlink()
        except OSError:
            pass


def compiled_loop(loss, optimizer, sparse):
    """``loop(*args)`` for one ``Loss`` and ``Optimizer`` class and input format: a call
    of ``run_compiled``."""
    return lambda *args: run_compiled(loss, optimizer, sparse, args)


def run_compiled(loss, optimizer, sparse, args):
    """Run the compiled loop of one ``Loss`` and ``Optimizer`` class and one input format
    (CSR when ``sparse``) on ``args``; return what it returns.

    The loop is compiled on first use, or loaded from the cache folder. A cache that
    cannot be used (unwritable, damaged) costs a warning naming the folder and a
    compilation in memory. Raises ``CompileError`` when numba cannot compile the
    functions (the loop has then not started: nothing has changed).
    """
    env = os.environ
    # The loop last used for these classes and this environment: one lookup per call,
    # which matters to a stream of one-row partial_fit calls.
    ready = (loss, optimizer, sparse, *(env.get(name) for name in _CACHE_VARIABLES))
    loop = _ready.get(ready)
    if loop is not None:
        try:
            return loop(*args)
        except Exception as exc:
            if _origin(exc) == "run":
                raise
            del _ready[ready]  # a new argument type failed to compile or load: the long way
    key = (loss, optimizer, sparse)
    if key in _failures:
        raise CompileError(_failures[key])
    reason = compilable(loss, optimizer)
    if reason is not None:
        raise CompileError(reason)
    try:
        prepare_numba()
    except ImportError as exc:  # found by numba_available, yet broken
        raise CompileError(str(exc)) from exc
    folder = _cache_dir()
    for attempt in (folder, None) if folder is not None else (None,):
        loop = _loops.get((*key, attempt))
        if loop is _IN_MEMORY:  # this folder failed this kernel before
            continue
        try:
            if loop is None:
                try:
                    loop = _loops[(*key, attempt)] = _load(loss, optimizer, sparse, attempt)
                except OSError as exc:  # the folder stopped being writable
                    raise _CacheError(str(exc)) from exc
            result = loop(*args)
            _ready[ready] = loop
            return result
        except Exception as exc:
            origin = "cache" if isinstance(exc, _CacheError) else _origin(exc)
            if origin == "run":
                raise
            if origin == "cache" and attempt is not None:
                stem = kernel_key(loss, optimizer, sparse)
                _warn(
                    f"sklearn-gd: the kernel cache in {attempt} could not be used "
                    f"({type(exc).__name__}: {exc}); compiling in memory instead, and "
                    f"removing the kernel {stem} from it."
                )
                _loops[(*key, attempt)] = _IN_MEMORY
                _forget(attempt, stem)
                continue
            names = ", ".join(
                f"{fn.__module__}.{fn.__qualname__}"
                for fn in _bound_functions(loss, optimizer).values()
                if fn.__module__ not in ("sklearn_gd._engine", "sklearn_gd.penalties")
            )
            _failures[key] = (
                f"numba cannot compile the loop for {names} "
                f"({type(exc).__name__}: {str(exc).strip().splitlines()[0]})"
            )
            raise CompileError(_failures[key]) from exc
    raise AssertionError("unreachable")  # the in-memory attempt returns or raises
