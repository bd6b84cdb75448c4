"""The compiled epoch of the learning-rate search (numba): every model of a ``GD*CV``
search steps on each batch, the batch's rows read once for all of them.

Like ``_loop.py``, an ordinary module that the package does not import:
``_kernel.py`` copies it per combination of loss, optimizer and input format into
the kernel cache folder with the marked bindings block filled (``kernel_source(...,
search=True)``), and numba caches the copy on disk. The loss gradient,
the rule, its effective step and the proximal steps are the jitted versions of the
functions in ``losses.py``, ``optimizers.py`` and ``penalties.py`` that the NumPy
search (``_cv._step``) and the single fit call: one implementation of the math.
The loss values are not taken here: each row's raw predictions go to ``raws`` and
the caller evaluates the epoch's objective from them, vectorised.

The models are the row blocks of ``theta`` (``A * K`` rows, ``K`` per model, the
last column the intercept); model ``a`` trains on fold ``fold[a]``, whose row
weights are ``W[:, fold[a]]`` (0 off its training part). Per batch: one product gives
the raw predictions of every model (``X_B Theta^T``, BLAS on dense rows), the loss
gradients are taken on each model's training rows only, one product
gives every model's gradient, and each model that has weight in the batch takes
its own step (its own step size, penalty, step count and average), in the order
of ``_cv._step`` and ``Trainer._numpy_loop``. Models that stopped are not here:
the caller drops their rows.
"""

import numpy as np
from numba import njit as _njit

from sklearn_gd._kernel import prepare_numba


def njit(**options):
    """numba's ``njit`` with NumPy's rules for float division (inf or nan, never an
    exception), and no disk cache when ``CACHE`` is False (compiled in memory)."""
    options.update(error_model="numpy", cache=CACHE and options.get("cache", False))
    return _njit(**options)


# --- bindings: filled per combination by sklearn_gd._kernel ---
from sklearn_gd._engine import bound_factor as _bound_factor  # noqa: E402
from sklearn_gd.losses import squared_error_gradient as _gradient  # noqa: E402
from sklearn_gd.optimizers import sgd_effective as _effective  # noqa: E402
from sklearn_gd.optimizers import sgd_rule as _rule  # noqa: E402
from sklearn_gd.penalties import cumulative_l1 as _cumulative  # noqa: E402
from sklearn_gd.penalties import soft_threshold as _prox  # noqa: E402

CACHE = True  # False: compiled in memory, whatever the decorators say
CSR = False  # X is (data, indices, indptr) of a CSR matrix, else a dense array
ROWWISE = False  # the loss takes whole rows (softmax), not one number
LAZY = False  # unused here (the single fit's O(nnz) per-sample path)


@njit(cache=True, inline="always")
def read_slots(slots, k, f):
    """The rule's slots at coordinate ``(k, f)``, as the tuple ``rule_fn`` takes."""
    return ()


@njit(cache=True, inline="always")
def write_slots(slots, k, f, new):
    """Store the rule's new slots at coordinate ``(k, f)``."""
    pass


# --- end of bindings ---

prepare_numba()  # numba's versions of the NumPy idioms the loss functions use
gradient_fn = _njit(inline="always", error_model="numpy")(_gradient)
rule_fn = _njit(inline="always", error_model="numpy")(_rule)
effective_fn = _njit(inline="always", error_model="numpy")(_effective)
prox_fn = _njit(inline="always", error_model="numpy")(_prox)
bound_factor_fn = _njit(inline="always", error_model="numpy")(_bound_factor)
cumulative_fn = _njit(inline="always", error_model="numpy")(_cumulative)


# --- the products ---------------------------------------------------------------------


@njit(cache=True)
def dense_raw(X, d, rows, fit_intercept, theta):
    """The batch's rows gathered with a last column of ones (``Xb``, so that the
    intercept rides in the products) and their raw predictions ``Xb Theta^T``."""
    nb, D = rows.shape[0], theta.shape[1]
    Xb = np.empty((nb, D), dtype=theta.dtype)
    one = 1.0 if fit_intercept else 0.0
    for j in range(nb):
        i = rows[j]
        for f in range(d):
            Xb[j, f] = X[i, f]
        Xb[j, d] = one
    return Xb, np.dot(Xb, theta.T)


@njit(cache=True)
def csr_raw(X, d, rows, fit_intercept, theta):
    """The raw predictions of the CSR rows ``rows``, O(nnz * models)."""
    data, indices, indptr = X
    nb, M = rows.shape[0], theta.shape[0]
    raw = np.empty((nb, M), dtype=theta.dtype)
    one = 1.0 if fit_intercept else 0.0
    for j in range(nb):
        i = rows[j]
        for m in range(M):
            s = theta[m, d] * one
            for p in range(indptr[i], indptr[i + 1]):
                s += data[p] * theta[m, indices[p]]
            raw[j, m] = s
    return raw


@njit(cache=True)
def csr_gradient(X, d, rows, fit_intercept, dmat, grad):
    """``grad = dmat^T [X_B, 1]`` on CSR rows."""
    data, indices, indptr = X
    grad[:] = 0.0
    one = 1.0 if fit_intercept else 0.0
    for j in range(rows.shape[0]):
        i = rows[j]
        for m in range(grad.shape[0]):
            a = dmat[j, m]
            if a == 0.0:
                continue
            for p in range(indptr[i], indptr[i + 1]):
                grad[m, indices[p]] += a * data[p]
            grad[m, d] += a * one


# --- the loss gradient on each model's training rows ----------------------------------


# ``dmat[j, m] = dloss/draw * w / total`` of row ``j`` for output ``m``, 0 where the
# model's fold does not train on the row. Each row's raw predictions go to ``raws``:
# the caller evaluates the epoch's loss from them afterwards, vectorised (as
# ``run_epoch`` does: a ``log1p`` per row and model here cost 4x the gradient).
@njit(cache=True)
def elementwise_loss(Y, rows, raw, W, fold, K, total, param, dmat, raws):
    share = np.empty(W.shape[1])
    for j in range(rows.shape[0]):
        i = rows[j]
        for m in range(raw.shape[1]):
            raws[i, m] = raw[j, m]
        for f in range(W.shape[1]):  # one division per fold, not per model
            share[f] = W[i, f] / total[f]
        for a in range(fold.shape[0]):
            w = share[fold[a]]
            for k in range(K):
                m = a * K + k
                dmat[j, m] = gradient_fn(Y[i, k], raw[j, m], param) * w if w != 0.0 else 0.0


@njit(cache=True)
def rowwise_loss(Y, rows, raw, W, fold, K, total, param, dmat, raws):
    nb = rows.shape[0]
    Yb = np.empty((nb, K), dtype=Y.dtype)
    for j in range(nb):
        for k in range(K):
            Yb[j, k] = Y[rows[j], k]
        for m in range(raw.shape[1]):
            raws[rows[j], m] = raw[j, m]
    block = np.empty((nb, K), dtype=raw.dtype)
    for a in range(fold.shape[0]):
        f = fold[a]
        for j in range(nb):
            for k in range(K):
                block[j, k] = raw[j, a * K + k]
        gradient = gradient_fn(Yb, block, param)
        for j in range(nb):
            w = W[rows[j], f]
            share = w / total[f] if w != 0.0 else 0.0
            for k in range(K):
                dmat[j, a * K + k] = gradient[j, k] * share if w != 0.0 else 0.0


batch_loss = rowwise_loss if ROWWISE else elementwise_loss


# --- one model's step -----------------------------------------------------------------


# One coordinate: AdamW's decay, the rule, the L1 prox (as ``_loop.coordinate``).
@njit(cache=True, inline="always")
def coordinate(theta, g, slots, m, f, lr, t, hyper, decay, l1):
    value = theta[m, f]
    if decay != 0.0:  # AdamW: theta * (1 - lr * decay) before the step (Algorithm 2)
        value *= 1.0 - lr * decay
    value, new = rule_fn(value, g, read_slots(slots, m, f), lr, t, hyper)
    write_slots(slots, m, f, new)
    if l1 != 0.0:
        value = prox_fn(value, l1 * effective_fn(new, lr, t, hyper))
    return value


# The rule on rows ``lo:hi``: a function of its own, not inlined, so that the rule's
# per-step factors (Adam's ``beta ** t``) are hoisted out of its loop (measured: 4x
# the time of the update when inlined into the epoch).
@njit(cache=True)
def update(theta, grad, slots, lo, hi, d, lr, t, hyper, decay, l1):
    for m in range(lo, hi):
        for f in range(d):
            theta[m, f] = coordinate(theta, grad[m, f], slots, m, f, lr, t, hyper, decay, l1)
        theta[m, d] = coordinate(theta, grad[m, d], slots, m, d, lr, t, hyper, 0.0, 0.0)


# The step of model ``a`` (rows ``a*K .. a*K+K-1``) with step size ``lr``, in the order
# of ``_cv._step``: the clamped shrink of a linear rule past ``lr * l2 = 1``, else the
# L2 gradient; the clip of the model's whole gradient; the rule with the decay and the
# prox (or the cumulative L1 of one-row steps); the average. Returns ``alpha * R`` at
# the weights the step starts from (the loss curve's penalty), summed in the same pass.
@njit(cache=True, inline="always")
def model_step(theta, grad, slots, u, q, avg, a, K, d, lr, t, c, l2, l1, start, n_avg):
    hyper, clip_norm, decay, linear, cumulative = c[1], c[4], c[5], c[7], c[8]
    lo, hi = a * K, a * K + K
    s2 = 0.0
    s1 = 0.0
    if l2 != 0.0 or l1 != 0.0:
        clamp = linear and lr * l2 > 1.0
        for m in range(lo, hi):
            for f in range(d):
                w = theta[m, f]
                s2 += w * w
                s1 += abs(w)
                if clamp:
                    theta[m, f] = 0.0
                else:
                    grad[m, f] += l2 * w
    if clip_norm > 0.0:
        norm = 0.0
        for m in range(lo, hi):
            for f in range(d + 1):
                norm += grad[m, f] * grad[m, f]
        norm = np.sqrt(norm)
        if norm > clip_norm:
            factor = clip_norm / norm
            for m in range(lo, hi):
                for f in range(d + 1):
                    grad[m, f] *= factor
    prox = 0.0 if cumulative else l1
    if decay == 0.0 and prox == 0.0:  # the common case, with both branches dropped
        update(theta, grad, slots, lo, hi, d, lr, t, hyper, 0.0, 0.0)
    else:
        update(theta, grad, slots, lo, hi, d, lr, t, hyper, decay, prox)
    if cumulative and l1 != 0.0:
        for m in range(lo, hi):
            for f in range(d):
                u[m, f] += l1 * effective_fn(read_slots(slots, m, f), lr, t, hyper)
                theta[m, f], q[m, f] = cumulative_fn(theta[m, f], u[m, f], q[m, f])
    if start > 0 and t >= start:
        n_avg[a] += 1
        share = 1.0 / n_avg[a]
        for m in range(lo, hi):
            for f in range(d + 1):
                avg[m, f] += (theta[m, f] - avg[m, f]) * share
    return 0.5 * l2 * s2 + l1 * s1


# --- the epoch ------------------------------------------------------------------------


# One epoch of every model: the batches ``order[s:s + rows]`` for ``s`` in ``starts``.
# Arguments as plain tuples (see ``_loop.loop``):
#   data  = (X, d, Y, W, member, mean_weight, fold, sq, order, starts, rows, lrs)
#   c     = (K, hyper, param, fit_intercept, clip_norm, decay, safe, linear, cumulative,
#            l2, l1, average_start)
#   state = (theta, slots, u, q, avg, t, n_avg, raws, penalty_sum)
# ``W[:, f]`` and ``member[:, f]`` are fold ``f``'s row weights and training rows (rows
# first: a row's are read together), ``lrs`` the
# scheduled step size of each (batch, model), ``sq`` the rows' curvature bounds when
# ``safe``; the per-model arrays ``l2``, ``l1``, ``average_start``, ``t`` and ``n_avg``
# are indexed by model, ``theta`` and the slots by model row. A model whose fold has
# no weight in a batch does not step on it (as ``run_epoch`` skips such a batch).
# ``raws`` (rows, models * K) receives each row's raw predictions at its step and
# ``penalty_sum`` each model's ``sum_B w(B) * alpha * R(w_B)``.
@njit(cache=True)
def search_epoch(data, c, state):
    X, d, Y, W, member, mean_weight, fold, sq, order, starts, rows, lrs = data
    K, fit_intercept, safe = c[0], c[3], c[6]
    param, l2, l1, average_start = c[2], c[9], c[10], c[11]
    theta, slots, u, q, avg, t, n_avg, raws, penalty_sum = state
    n, A, F = order.shape[0], fold.shape[0], W.shape[1]
    total = np.empty(F)
    weight = np.empty(F)
    curvature = np.empty(F)
    count = np.empty(F)
    for kb in range(starts.shape[0]):
        s = starts[kb]
        batch = order[s : min(s + rows, n)]
        # Each fold's training weight in the batch and its normaliser |B_train| * mean(sw).
        count[:] = 0.0
        weight[:] = 0.0
        curvature[:] = 0.0
        for i in batch:
            for f in range(F):
                count[f] += member[i, f]
                weight[f] += W[i, f]
                if safe:
                    curvature[f] += W[i, f] * sq[i]
        for f in range(F):
            total[f] = count[f] * mean_weight[f] if count[f] > 0 else 1.0
        dmat = np.empty((batch.shape[0], theta.shape[0]), dtype=theta.dtype)
        if CSR:
            raw = csr_raw(X, d, batch, fit_intercept, theta)
            batch_loss(Y, batch, raw, W, fold, K, total, param, dmat, raws)
            grad = np.empty_like(theta)
            csr_gradient(X, d, batch, fit_intercept, dmat, grad)
        else:
            Xb, raw = dense_raw(X, d, batch, fit_intercept, theta)
            batch_loss(Y, batch, raw, W, fold, K, total, param, dmat, raws)
            grad = np.dot(dmat.T, Xb)
        for a in range(A):
            f = fold[a]
            if not weight[f] > 0.0:
                continue
            lr = lrs[kb, a]
            if safe:  # the step within 1 / L of the model's rows (bound_factor)
                lr *= bound_factor_fn(lr, curvature[f], total[f])
            t[a] += 1
            penalty = model_step(theta, grad, slots, u, q, avg, a, K, d, lr, float(t[a]), c,
                                 l2[a], l1[a], average_start[a], n_avg)  # fmt: skip
            penalty_sum[a] += weight[f] * penalty
