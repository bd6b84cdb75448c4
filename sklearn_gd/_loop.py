"""The compiled epoch loop (numba): the batch loop of ``Trainer._numpy_loop``, rows read
in place.

This is an ordinary module, read by ruff, editors and coverage as it is, but it is
not imported by the package: ``_kernel.py`` copies it per combination of loss,
optimizer and input format into the kernel cache folder, with the marked bindings
block below filled for that combination (the loss gradient, the rule, its slots, the
input format), and numba caches the copy's functions on disk. As written here the
block binds the library's own squared error, plain SGD and dense rows.

The loss gradient, rule and proximal steps are the jitted versions of the very
functions in ``losses.py``, ``optimizers.py`` and ``penalties.py`` that the NumPy
path calls: one implementation of the math. They are elementwise, so here they run
on one number at a time and a step allocates nothing. The loss value is not needed
to step: each row's raw prediction goes to ``raws`` and ``run_epoch`` evaluates the
epoch's loss from them afterwards, vectorised (a ``log1p`` per row in the loop was a
fifth of a row's time). ``CSR``, ``ROWWISE`` and ``LAZY`` are constants: numba drops
the branches they switch off, and the functions they select are chosen once below.
"""

import numpy as np
from numba import njit as _njit

from sklearn_gd._kernel import prepare_numba


def njit(**options):
    """numba's ``njit`` with NumPy's rules for float division (inf or nan, never an
    exception, as on the NumPy path; Python's would also cost a branch per division),
    and no disk cache when ``CACHE`` is False (the module is compiled in memory)."""
    options.update(error_model="numpy", cache=CACHE and options.get("cache", False))
    return _njit(**options)


# --- bindings: filled per combination by sklearn_gd._kernel ---
from sklearn_gd._engine import bound_factor as _bound_factor  # noqa: E402
from sklearn_gd.losses import squared_error_gradient as _gradient  # noqa: E402
from sklearn_gd.losses import squared_error_gradient as _row_gradient  # noqa: E402
from sklearn_gd.optimizers import sgd_effective as _effective  # noqa: E402
from sklearn_gd.optimizers import sgd_rule as _rule  # noqa: E402
from sklearn_gd.penalties import cumulative_l1 as _cumulative  # noqa: E402
from sklearn_gd.penalties import soft_threshold as _prox  # noqa: E402

CACHE = True  # False: compiled in memory, whatever the decorators say
CSR = False  # X is (data, indices, indptr) of a CSR matrix, else a dense array
ROWWISE = False  # the loss gradient takes whole rows (softmax), not one number
LAZY = False  # per-sample sparse steps of a linear rule are O(nnz) (lazy_loop)
LABELS = False  # Y is (index, low, high) of a losses.Labels target, else a matrix


@njit(cache=True, inline="always")
def read_slots(slots, k, f):
    """The rule's slots at coordinate ``(k, f)``, as the tuple ``rule_fn`` takes."""
    return ()


@njit(cache=True, inline="always")
def write_slots(slots, k, f, new):
    """Store the rule's new slots at coordinate ``(k, f)``."""
    pass


# --- end of bindings ---

prefetch = prepare_numba()
# Rows come in shuffled order, so each is a cache miss: ``fetch`` asks for the row
# ``AHEAD`` places on while this one is worked on.
AHEAD = 8
# Not cached on their own: they are inlined into the loop, whose cache holds them,
# and a user's function may live where numba cannot write a cache.
gradient_fn = _njit(inline="always", error_model="numpy")(_gradient)
row_gradient_fn = _njit(inline="always", error_model="numpy")(_row_gradient)  # ROWWISE only
rule_fn = _njit(inline="always", error_model="numpy")(_rule)
effective_fn = _njit(inline="always", error_model="numpy")(_effective)
prox_fn = _njit(inline="always", error_model="numpy")(_prox)
bound_factor_fn = _njit(inline="always", error_model="numpy")(_bound_factor)
cumulative_fn = _njit(inline="always", error_model="numpy")(_cumulative)


# --- row operations: dense ------------------------------------------------------------
# ``row_value`` reads ``x_if`` for every ``f`` in turn: a CSR row is first scattered
# into the dense buffer ``xrow`` (``load_row``), and cleared from it afterwards. Only
# the row products may be reassociated (vectorised), as BLAS does; the loss and the
# rules keep IEEE semantics (NaN and inf must still show divergence).


@njit(cache=True, inline="always")
def dense_fetch_row(X, i, d):
    for f in range(0, d, 8):
        prefetch(X, (i, f))


@njit(cache=True, fastmath={"reassoc", "contract"})
def dense_dot(X, i, theta, k, d):
    s = 0.0
    for f in range(d):
        s += X[i, f] * theta[k, f]
    return s


@njit(cache=True, inline="always")
def dense_load_row(X, i, xrow):
    pass


@njit(cache=True, inline="always")
def dense_row_value(X, i, f, xrow):
    return X[i, f]


@njit(cache=True, fastmath={"reassoc", "contract"})
def dense_axpy(X, i, a, grad, k, d, first):
    if first:
        for f in range(d):
            grad[k, f] = a * X[i, f]
    else:
        for f in range(d):
            grad[k, f] += a * X[i, f]


@njit(cache=True, fastmath={"reassoc", "contract"})
def dense_axpy4(X, rows, p, a, j, grad, k, d, first):
    i0, i1, i2, i3 = rows[p], rows[p + 1], rows[p + 2], rows[p + 3]
    a0, a1, a2, a3 = a[j], a[j + 1], a[j + 2], a[j + 3]
    if first:
        for f in range(d):
            grad[k, f] = a0 * X[i0, f] + a1 * X[i1, f] + a2 * X[i2, f] + a3 * X[i3, f]
    else:
        for f in range(d):
            grad[k, f] += a0 * X[i0, f] + a1 * X[i1, f] + a2 * X[i2, f] + a3 * X[i3, f]


# --- row operations: CSR, ``X = (data, indices, indptr)`` -------------------------------


# Every cache line of the row (64 bytes: 8 values, 16 int32 indices), its last included
# (a row need not start on a line): with the first line only, the rest of a shuffled
# row came from memory when read, and the rows' products took 1.8x as long (measured on
# 30,000 rows of 82 nonzeros, 3 classes). No branch (see ``fetch``): an empty row
# prefetches the item before its start, the previous row's or, for a first row, an
# address before the array, which is harmless (a prefetch never faults).
@njit(cache=True, inline="always")
def csr_fetch_row(X, i, d):
    data, indices, indptr = X
    start, end = indptr[i], indptr[i + 1]
    for p in range(start, end, 8):
        prefetch(data, p)
    for p in range(start, end, 16):
        prefetch(indices, p)
    prefetch(data, end - 1)
    prefetch(indices, end - 1)


@njit(cache=True, inline="always")
def csr_dot(X, i, theta, k, d):
    data, indices, indptr = X
    s = 0.0
    for p in range(indptr[i], indptr[i + 1]):
        s += data[p] * theta[k, indices[p]]
    return s


# All outputs of a row in one pass over its nonzeros, four outputs at a time: each
# nonzero's index and value are read once for four outputs, not once for each (an
# epoch of batch-256 plain SGD on 30,000 hashed documents of 82 nonzeros, 3 classes:
# 24.0 -> 15.3 ms; Adam 27.5 -> 20.6 ms). Past the last output the indices
# repeat the last one, whose sums are then the same (and stored twice) and whose
# gradient terms are zero. Each sum still runs over the row's nonzeros in their
# order, and each gradient over the batch's rows in theirs: the results are those of
# one output at a time, to the bit, float32 included: a raw prediction is rounded to
# the weights' type once, with its intercept, and a float32 gradient term is a float32
# product (``np.float32(0.0)``: a float64 zero would widen the others).
@njit(cache=True, inline="always")
def csr_dots(X, i, theta, d, fit_intercept, out, r):
    data, indices, indptr = X
    last = theta.shape[0] - 1
    for k0 in range(0, last + 1, 4):
        k1, k2, k3 = min(k0 + 1, last), min(k0 + 2, last), min(k0 + 3, last)
        s0 = s1 = s2 = s3 = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            v, f = data[p], indices[p]
            s0 += v * theta[k0, f]
            s1 += v * theta[k1, f]
            s2 += v * theta[k2, f]
            s3 += v * theta[k3, f]
        out[r, k0] = s0 + (theta[k0, d] if fit_intercept else 0.0)
        out[r, k1] = s1 + (theta[k1, d] if fit_intercept else 0.0)
        out[r, k2] = s2 + (theta[k2, d] if fit_intercept else 0.0)
        out[r, k3] = s3 + (theta[k3, d] if fit_intercept else 0.0)


@njit(cache=True, inline="always")
def csr_add_outputs(X, d, order, s, nb, a, grad, fit_intercept):
    data, indices, indptr = X
    last = grad.shape[0] - 1
    grad[:, :d] = 0.0
    for j in range(nb):
        i = order[s + j]
        for k0 in range(0, last + 1, 4):
            k1, k2, k3 = min(k0 + 1, last), min(k0 + 2, last), min(k0 + 3, last)
            a0 = a[j, k0]
            a1 = a[j, k1] if k0 + 1 <= last else np.float32(0.0)
            a2 = a[j, k2] if k0 + 2 <= last else np.float32(0.0)
            a3 = a[j, k3] if k0 + 3 <= last else np.float32(0.0)
            for p in range(indptr[i], indptr[i + 1]):
                v, f = data[p], indices[p]
                grad[k0, f] += a0 * v
                grad[k1, f] += a1 * v
                grad[k2, f] += a2 * v
                grad[k3, f] += a3 * v
    if fit_intercept:
        for k in range(last + 1):
            for j in range(nb):
                grad[k, d] += a[j, k]


@njit(cache=True, inline="always")
def csr_load_row(X, i, xrow):
    data, indices, indptr = X
    for p in range(indptr[i], indptr[i + 1]):
        xrow[indices[p]] += data[p]  # += : CSR may repeat an index, which then adds up


@njit(cache=True, inline="always")
def csr_row_value(X, i, f, xrow):
    return xrow[f]


@njit(cache=True, inline="always")
def csr_unload_row(X, i, xrow):
    data, indices, indptr = X
    for p in range(indptr[i], indptr[i + 1]):
        xrow[indices[p]] = 0.0


@njit(cache=True, inline="always")
def csr_axpy(X, i, a, grad, k, d, first):
    data, indices, indptr = X
    if first:
        grad[k, :d] = 0.0
    for p in range(indptr[i], indptr[i + 1]):
        grad[k, indices[p]] += a * data[p]


@njit(cache=True, inline="always")
def csr_axpy4(X, rows, p, a, j, grad, k, d, first):
    for q in range(4):
        csr_axpy(X, rows[p + q], a[j + q], grad, k, d, first and q == 0)


# Chosen once: the loop below calls them by these names.
if CSR:
    fetch_row, dot, load_row, row_value = csr_fetch_row, csr_dot, csr_load_row, csr_row_value
    unload_row, axpy, axpy4 = csr_unload_row, csr_axpy, csr_axpy4
else:
    fetch_row, dot, load_row, row_value = (
        dense_fetch_row, dense_dot, dense_load_row, dense_row_value
    )  # fmt: skip
    unload_row, axpy, axpy4 = dense_load_row, dense_axpy, dense_axpy4  # nothing to unload


# --- the target: a matrix, or labels ---------------------------------------------------
# ``target(Y, i, k)`` is the target of row ``i`` in output ``k``; ``target_row`` the
# whole row (written into ``out`` from labels: one-hot or +-1, O(n_outputs) per row, as
# the gradient itself).


@njit(cache=True, inline="always")
def matrix_target(Y, i, k):
    return Y[i, k]


@njit(cache=True, inline="always")
def matrix_target_row(Y, i, out):
    return Y[i]


@njit(cache=True, inline="always")
def matrix_fetch_target(Y, i):
    prefetch(Y, (i, 0))


@njit(cache=True, inline="always")
def labels_target(Y, i, k):
    index, low, high = Y
    return high if index[i] == k else low


@njit(cache=True, inline="always")
def labels_target_row(Y, i, out):
    index, low, high = Y
    for k in range(out.shape[0]):
        out[k] = low
    out[index[i]] = high
    return out


@njit(cache=True, inline="always")
def labels_fetch_target(Y, i):
    prefetch(Y[0], i)


if LABELS:
    target, target_row, fetch_target = labels_target, labels_target_row, labels_fetch_target
else:
    target, target_row, fetch_target = matrix_target, matrix_target_row, matrix_fetch_target


# --- the batch gradient ---------------------------------------------------------------


# Where row ``i``, at position ``p`` of the epoch's order, keeps its raw predictions:
# ``raws[i]`` by row, else ``raws[p - base]`` from the first row of the call's batches.
@njit(cache=True, inline="always")
def slot(by_row, i, p, base):
    # Two returns, not a conditional expression: ``i`` may be an int32 (the order's type).
    if by_row:
        return np.intp(i)
    return np.intp(p - base)


# Row ``i``'s weight: ``sw[0]`` where all weights are equal (``weighted`` False, the
# usual fit): a line always in cache, where ``sw[i]`` took a line from memory for every
# shuffled row (2 of 115 ms in a one-epoch batch-256 fit at 10^6 x 100, measured).
@njit(cache=True, inline="always")
def weight_of(sw, i, weighted):
    return sw[i * weighted]


@njit(cache=True, inline="always")
def fetch(X, Y, sw, sq, raws, i, d, by_row, weighted, safe):
    """Ask for everything the loop reads or writes of row ``i`` (by position, ``raws``
    is written in order: the hardware prefetcher follows it).

    Free of branches: numba increments each array argument's reference count (an
    atomic operation) when it inlines a function and decrements it after, and
    here its pruning of the pairs failed while ``if by_row:`` and ``if start <
    end:`` separated them: six pairs a row, counted with a breakpoint on
    ``NRT_incref`` (none after). A sparse row of one nonzero went from about 145
    to 34 ns with the branches gone and the CSR products inlined. Other inlined
    functions keep their branches where the count showed no pairs left (e.g.
    ``csr_axpy``'s ``first``)."""
    fetch_row(X, i, d)
    fetch_target(Y, i)
    prefetch(sw, i * weighted)  # as ``weight_of`` reads it
    prefetch(sq, i * safe)  # read by safe steps only (else ``sq`` is ``sw``)
    prefetch(raws, (i * by_row, 0))  # by position: raws[0], a line already in cache


@njit(cache=True, inline="always")
def add_rows(X, d, order, s, nb, a, grad, k, fit_intercept):
    """``grad[k] = sum_j a[j] * [x_order[s + j], 1]`` over the batch. Four rows at a
    time (``axpy4``), so that ``grad[k]`` is loaded and stored once per four rows."""
    for j in range(0, nb - 3, 4):
        axpy4(X, order, s + j, a, j, grad, k, d, j == 0)
    for j in range(nb - nb % 4, nb):
        axpy(X, order[s + j], a[j], grad, k, d, j == 0)
    if fit_intercept:
        for j in range(nb):
            grad[k, d] += a[j]


# The batch ``order[s:s + nb]``: its raw predictions go to ``raws`` and the gradient of
# its data term (``sum sw * dloss/draw * [x, 1] / total``) into ``grad``. Elementwise
# losses go in three sweeps over the batch (products, loss gradients, gradient) so that
# each sweep's rows are independent of one another and overlap in the pipeline; ``buf``
# holds one number per row.
@njit(cache=True, inline="always")
def elementwise_batch_gradient(X, d, Y, sw, sq, order, s, nb, theta, fit_intercept, param,
                               total, grad, buf, raws, by_row, base, yrow, weighted,
                               safe):  # fmt: skip
    grad[:, d] = 0.0
    for k in range(theta.shape[0]):
        for j in range(nb):
            # A batch's CSR rows stay in cache from the first output's sweep to the
            # others' (fetching each line again cost 7% of a 3-class sparse epoch);
            # a batch of wide dense rows need not (5,000 features: 5% slower unfetched).
            if (k == 0 or not CSR) and s + j + AHEAD < order.shape[0]:
                fetch(X, Y, sw, sq, raws, order[s + j + AHEAD], d, by_row, weighted, safe)
            i = order[s + j]
            buf[j] = dot(X, i, theta, k, d) + (theta[k, d] if fit_intercept else 0.0)
        for j in range(nb):
            i = order[s + j]
            raws[slot(by_row, i, s + j, base), k] = buf[j]
            share = weight_of(sw, i, weighted) / total
            buf[j] = gradient_fn(target(Y, i, k), buf[j], param) * share
        add_rows(X, d, order, s, nb, buf, grad, k, fit_intercept)


# Row-wise losses (softmax): each row's gradient is computed in place in ``rows[j]``
# (``row_gradient_fn``), so that a batch allocates nothing.
@njit(cache=True, inline="always")
def rowwise_batch_gradient(X, d, Y, sw, sq, order, s, nb, theta, fit_intercept, param, total,
                           grad, rows, raws, by_row, base, yrow, weighted, safe):  # fmt: skip
    K = theta.shape[0]
    for j in range(nb):
        if s + j + AHEAD < order.shape[0]:
            fetch(X, Y, sw, sq, raws, order[s + j + AHEAD], d, by_row, weighted, safe)
        i = order[s + j]
        r = slot(by_row, i, s + j, base)
        if CSR:
            csr_dots(X, i, theta, d, fit_intercept, raws, r)
        else:  # one product per output: the CSR loop's for all outputs, written for
            # dense rows, kept reference counting inlined (7 atomic increments a row,
            # gdb) and cost 5% of a 3-class row at d=20 as a call
            for k in range(K):
                raws[r, k] = dot(X, i, theta, k, d) + (theta[k, d] if fit_intercept else 0.0)
        row_gradient_fn(target_row(Y, i, yrow), raws[r], param, rows[j])
        share = weight_of(sw, i, weighted) / total
        for k in range(K):
            rows[j, k] *= share
    grad[:, d] = 0.0
    if CSR:
        csr_add_outputs(X, d, order, s, nb, rows, grad, fit_intercept)
    else:
        for k in range(K):
            add_rows(X, d, order, s, nb, rows[:, k], grad, k, fit_intercept)


# ``buf``: one number per row of a batch, or one row of gradients per row (row-wise).
@njit(cache=True, inline="always")
def elementwise_buffer(theta, b):
    return np.empty(b, dtype=theta.dtype)


@njit(cache=True, inline="always")
def rowwise_buffer(theta, b):
    return np.empty((b, theta.shape[0]), dtype=theta.dtype)


# The gradient of row ``i``'s loss in each output, from its raw predictions ``raws[r]``,
# into ``out``: one number at a time, or the whole row (softmax) in place.
@njit(cache=True, inline="always")
def elementwise_row_gradient(Y, i, raws, r, param, out, yrow):
    for k in range(out.shape[0]):
        out[k] = gradient_fn(target(Y, i, k), raws[r, k], param)


@njit(cache=True, inline="always")
def rowwise_row_gradient(Y, i, raws, r, param, out, yrow):
    row_gradient_fn(target_row(Y, i, yrow), raws[r], param, out)


if ROWWISE:
    batch_gradient, batch_buffer = rowwise_batch_gradient, rowwise_buffer
    row_gradient = rowwise_row_gradient
else:
    batch_gradient, batch_buffer = elementwise_batch_gradient, elementwise_buffer
    row_gradient = elementwise_row_gradient


# --- the update -----------------------------------------------------------------------


# One optimizer step, one coordinate at a time: the rule, AdamW's decay and the L1 prox
# (neither on the intercept column ``d``). ``t`` is a float, as in Python, so that
# ``beta ** t`` is one ``pow`` hoisted out of the loop.
@njit(cache=True, inline="always")
def coordinate(theta, g, slots, k, f, lr, t, hyper, decay, l1):
    value = theta[k, f]
    if decay != 0.0:  # AdamW: theta * (1 - lr * decay) before the step (Algorithm 2)
        value *= 1.0 - lr * decay
    value, new = rule_fn(value, g, read_slots(slots, k, f), lr, t, hyper)
    write_slots(slots, k, f, new)
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
# ``penalties.cumulative_l1`` instead of the prox, in a pass of its own after the step
# (as in ``Trainer._numpy_loop``): a branch for it inside ``coordinate`` made the plain
# row step 3.5x slower, even where it was never taken (measured).
@njit(cache=True)
def cumulative_penalty(theta, slots, k, d, lr, t, hyper, l1, u, q):
    for f in range(d):
        u[k, f] += l1 * effective_fn(read_slots(slots, k, f), lr, t, hyper)
        theta[k, f], q[k, f] = cumulative_fn(theta[k, f], u[k, f], q[k, f])


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


# A step of size ``lr`` on the batch ``order[s:s + nb]``. The penalty's gradient is added
# (or, for the plain rule past ``lr * l2 = 1``, its shrink clamped at 0) and the whole
# gradient clipped before the update, as in ``Trainer._numpy_loop``. Returns
# ``alpha * R`` at the weights the step starts from.
@njit(cache=True, inline="always")
def batch_step(data, c, theta, slots, u, q, s, nb, total, lr, t, grad, buf, base, yrow):
    X, d, Y, sw, sq, order, starts, lrs, raws = data
    (b, hyper, param, l2, l1, fit_intercept, clip_norm, decay, safe, linear, cumulative,
     mean_weight, average_start, average_per_epoch, by_row, weighted) = c  # fmt: skip
    pen = 0.0
    if l2 != 0.0 or l1 != 0.0:
        pen = penalty_at(theta, d, l2, l1)
    batch_gradient(X, d, Y, sw, sq, order, s, nb, theta, fit_intercept, param, total, grad,
                   buf, raws, by_row, base, yrow, weighted, safe)  # fmt: skip
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


# Per-sample steps skip ``grad``: each coordinate's gradient ``a * x_f + l2 * theta_f``
# goes straight into its update, one pass over the weights instead of three (the row's
# gradient, the penalty, the rule), with no gradient stored and loaded back. This
# halves the time of a dense row at d=20, and of a sparse one; a softmax row on the
# batch step took 2.3x as long (20,000 x 20, 3 classes: 410 -> 175 ns, the batch
# step's reference counting included). Clipping needs the whole gradient first, so it
# takes the batch step. Without AdamW's decay or an L1 prox (the defaults) the
# coordinate loop is written a second time with both switched off, which numba then
# drops from it: 8% of a row at d=20 (measured).
@njit(cache=True, inline="always")
def row_coordinates(X, d, i, theta, slots, k, a, l2, lr, t, hyper, decay, l1, xrow):
    for f in range(d):
        g = a * row_value(X, i, f, xrow)
        if l2 != 0.0:
            g += l2 * theta[k, f]
        theta[k, f] = coordinate(theta, g, slots, k, f, lr, t, hyper, decay, l1)


# A row-wise loss (softmax) takes every output's raw prediction first: the row's
# gradient ``grads`` couples them.
@njit(cache=True, inline="always")
def row_step(X, d, Y, row_weight, i, theta, slots, fit_intercept, param, total, l2, lr, t,
             hyper, decay, l1, xrow, raws, r, grads, yrow):  # fmt: skip
    load_row(X, i, xrow)
    if ROWWISE:
        for k in range(theta.shape[0]):
            raws[r, k] = dot(X, i, theta, k, d) + (theta[k, d] if fit_intercept else 0.0)
        row_gradient(Y, i, raws, r, param, grads, yrow)
    for k in range(theta.shape[0]):
        if ROWWISE:
            a = grads[k] * (row_weight / total)
        else:
            raw = dot(X, i, theta, k, d) + (theta[k, d] if fit_intercept else 0.0)
            raws[r, k] = raw
            a = gradient_fn(target(Y, i, k), raw, param) * (row_weight / total)
        if decay == 0.0 and l1 == 0.0:
            row_coordinates(X, d, i, theta, slots, k, a, l2, lr, t, hyper, 0.0, 0.0, xrow)
        else:
            row_coordinates(X, d, i, theta, slots, k, a, l2, lr, t, hyper, decay, l1, xrow)
        a = a if fit_intercept else 0.0
        theta[k, d] = coordinate(theta, a, slots, k, d, lr, t, hyper, 0.0, 0.0)
    unload_row(X, i, xrow)


# --- per-sample sparse steps in O(nnz) --------------------------------------------------
# Per-sample plain SGD on sparse rows costs O(nnz) per step, not O(n_features), as in
# scikit-learn's SGD: the L2 decay, which moves every weight, is kept as one number per
# output (``coef = scale * v``), and the iterate average as ``avg = (A + alpha * v) /
# beta`` (Xu 2011; scikit-learn's ASGD), where only the row's coordinates of ``A``
# change. ``theta[:, :d]`` holds ``v`` and ``avg[:, :d]`` holds ``A`` until
# ``materialize`` writes both out. The rule is still ``rule_fn``: a linear rule
# (``Optimizer.linear``) steps ``v`` with the gradient over ``scale``. For the loss
# curve, ``vsq[k]`` follows ``||v_k||^2`` (updated with each touched coordinate,
# recomputed when written out), so ``alpha * R = l2 / 2 * scale^2 * vsq``. A row's raw
# predictions are taken for every output before any steps, so that softmax (one-vs-rest
# too) steps each output with the gradient of the row's whole loss: multiclass sparse
# steps are O(nnz * n_outputs) as well.


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
def lazy_loop(data, c, state):
    X, d, Y, sw, sq, order, starts, lrs, raws = data
    theta, slots, u, q, avg, t, n_avg = state
    (b, hyper, param, l2, l1, fit_intercept, clip_norm, decay, safe, linear, cumulative,
     mean_weight, average_start, average_per_epoch, by_row, weighted) = c  # fmt: skip
    values, indices, indptr = X
    n, K = order.shape[0], theta.shape[0]
    scale, alpha, beta, vsq = np.ones(K), np.zeros(K), np.ones(K), np.zeros(K)
    grads = np.empty(K, dtype=theta.dtype)
    yrow = np.empty(K, dtype=theta.dtype)
    sums = np.empty((1, K))
    base = starts[0] if starts.shape[0] else 0
    for k in range(K):
        for f in range(d):
            vsq[k] += theta[k, f] * theta[k, f]
    pen = 0.0
    for kb in range(starts.shape[0]):
        s = starts[kb]
        i = order[s]
        if s + AHEAD < n:
            fetch(X, Y, sw, sq, raws, order[s + AHEAD], d, by_row, weighted, safe)
        r = slot(by_row, i, s, base)
        t += 1
        lr = lrs[kb]
        w_i = weight_of(sw, i, weighted)
        if safe:
            lr *= bound_factor_fn(lr, w_i * sq[i], mean_weight)
        averaging = average_start > 0 and t >= average_start
        if averaging:
            n_avg += 1
        # The products of v, in float64 ``sums``: softmax's in one pass over the row (five
        # epochs of 3-class per-sample sgd: 118 -> 94 ms); one-vs-rest and binary one
        # output at a time (four sums for one output cost 3% of a binary row).
        if ROWWISE:
            csr_dots(X, i, theta, d, False, sums, 0)
        else:
            for k in range(K):
                sums[0, k] = dot(X, i, theta, k, d)
        for k in range(K):
            if l2 != 0.0:
                pen += w_i * (0.5 * l2 * (scale[k] * scale[k] * vsq[k]))
            raws[r, k] = scale[k] * sums[0, k] + (theta[k, d] if fit_intercept else 0.0)
        # All outputs' raw predictions first: softmax couples them.
        row_gradient(Y, i, raws, r, param, grads, yrow)
        for k in range(K):
            a = grads[k] * (w_i / mean_weight)
            # Clamped at 0 as scikit-learn's SGD does; a scale of 0 is written out below.
            scale[k] *= max(0.0, 1.0 - lr * l2)
            # Write out before v outgrows its range (or the scale reaches 0), and before
            # A + alpha * v cancels more than a digit: under a fast decay (large
            # lr * alpha), alpha * v outgrows the average (measured: 1e-11 relative
            # error with scale < 1e-9 as the only check, 1e-15 with this one too).
            if scale[k] < 1e-9 or alpha[k] > 10.0 * beta[k] * scale[k]:
                materialize(theta, avg, k, d, scale, alpha, beta, vsq)
            a_v = a / scale[k]  # one division per row and output, not per coordinate
            # Held in locals, not read and written through the arrays: numba cannot tell
            # they are not ``theta`` or ``avg``, so ``vsq[k] += ...`` made a chain through
            # memory, 2.2x the time of the whole row step (measured, 82 nonzeros).
            alpha_k, dsq = alpha[k], 0.0
            for p in range(indptr[i], indptr[i + 1]):
                f = indices[p]
                v = rule_fn(theta[k, f], a_v * values[p], (), lr, t, hyper)[0]
                if averaging:
                    avg[k, f] -= alpha_k * (v - theta[k, f])
                dsq += v * v - theta[k, f] * theta[k, f]
                theta[k, f] = v
            vsq[k] += dsq
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


# --- the loop -------------------------------------------------------------------------


# The batch loop of ``Trainer._numpy_loop`` for one epoch, with rows read in place:
# ``loop`` below with ``order``, ``lrs`` and ``raws`` of this epoch. Returns the step
# count, the averaged iterates and ``sum_B sum(sw_B) * alpha * R(w_B)`` (the loss
# curve's penalty). ``run_epochs`` counts the steps ``safe_steps`` bounds: a counter
# here made the row step 3x slower (measured, d=20).
@njit(cache=True)
def epoch(data, c, state):
    X, d, Y, sw, sq, order, starts, lrs, raws = data
    theta, slots, u, q, avg, t, n_avg = state
    (b, hyper, param, l2, l1, fit_intercept, clip_norm, decay, safe, linear, cumulative,
     mean_weight, average_start, average_per_epoch, by_row, weighted) = c  # fmt: skip
    n, K = order.shape[0], theta.shape[0]
    grad = np.zeros_like(theta)
    buf = batch_buffer(theta, b)
    xrow = np.zeros(d, dtype=theta.dtype)
    yrow = np.empty(K, dtype=theta.dtype)  # a row of labels' targets (rowwise losses)
    grads = np.empty(K, dtype=theta.dtype)  # a row's gradient (rowwise losses)
    base = starts[0] if starts.shape[0] else 0
    pen = 0.0
    for kb in range(starts.shape[0]):
        s = starts[kb]
        nb = min(s + b, n) - s
        total = nb * mean_weight
        t += 1
        lr = lrs[kb]
        # safe_steps (Trainer._safe_rows, bound_factor): one-row batches only.
        # A plain rule's step past lr * l2 = 1 (its shrink clamped at 0) takes the
        # batch step, which computes the gradient before it zeroes the weights.
        if nb == 1 and clip_norm == 0.0 and not (linear and lr * l2 > 1.0):
            i = order[s]
            if s + AHEAD < n:
                fetch(X, Y, sw, sq, raws, order[s + AHEAD], d, by_row, weighted, safe)
            w_i = weight_of(sw, i, weighted)
            if safe:
                lr *= bound_factor_fn(lr, w_i * sq[i], total)
            # The curve's penalty and the cumulative L1 stay out of row_step: inside
            # it they made the plain row step 3x slower (measured).
            if l2 != 0.0 or l1 != 0.0:
                pen += w_i * penalty_at(theta, d, l2, l1)
            row_step(X, d, Y, w_i, i, theta, slots, fit_intercept, param, total, l2, lr,
                     float(t), hyper, decay, 0.0 if cumulative else l1, xrow, raws,
                     slot(by_row, i, s, base), grads, yrow)  # fmt: skip
            if cumulative and l1 != 0.0:
                for k in range(K):
                    cumulative_penalty(theta, slots, k, d, lr, float(t), hyper, l1, u, q)
        else:
            if safe:
                curv = 0.0
                for j in range(nb):
                    curv += weight_of(sw, order[s + j], weighted) * sq[order[s + j]]
                lr *= bound_factor_fn(lr, curv, total)
            at_start = batch_step(data, c, theta, slots, u, q, s, nb, total, lr, float(t),
                                  grad, buf, base, yrow)  # fmt: skip
            # The batch's weight, summed after the step, which prefetched its rows'
            # weights: summed before it, each was a cache miss (8% of a batch-256
            # epoch at 10^6 x 100 in shuffled order, measured).
            weight = 0.0
            for j in range(nb):
                weight += weight_of(sw, order[s + j], weighted)
            pen += weight * at_start
        if average_start > 0 and t >= average_start:
            n_avg += 1
            # One division per step, not per coordinate (a step is ~70 ns at d=20).
            share = 1.0 / n_avg
            for k in range(K):
                for f in range(d + 1):
                    avg[k, f] += (theta[k, f] - avg[k, f]) * share
    return t, n_avg, pen


# The epochs ``e`` of ``orders[e]`` (the row order), ``lrs[e]`` (the batches' step sizes)
# and ``raws[e]`` (each row's raw prediction at its step) in one call: on small data the
# interpreter's round trip per epoch costs as much as the epoch (650 rows, d=20). The
# arguments are the fields of the named tuples ``_kernel.Data``, ``Config`` and ``State``,
# as plain tuples (unpacked by position): numba types a named tuple argument on a slow
# path that also keeps a reference per call (numba issue 9733; 200 bytes a call).
# Returns the step count, the averaged iterates, each epoch's penalty sum and the number
# of epochs run: it stops after an epoch whose weights are not finite (divergence).
@njit(cache=True)
def loop(data, c, state):
    X, d, Y, sw, sq, orders, starts, lrs, raws = data
    theta, slots, u, q, avg, t, n_avg = state
    (b, hyper, param, l2, l1, fit_intercept, clip_norm, decay, safe, linear, cumulative,
     mean_weight, average_start, average_per_epoch, by_row, weighted) = c  # fmt: skip
    pens = np.zeros(orders.shape[0])
    for e in range(orders.shape[0]):
        if average_per_epoch and e > 0:  # the caller starts epoch 0's average
            n_avg = 0
        data_e = (X, d, Y, sw, sq, orders[e], starts, lrs[e], raws[e])
        state_e = (theta, slots, u, q, avg, t, n_avg)
        if LAZY and b == 1 and clip_norm == 0.0 and l1 == 0.0 and decay == 0.0:  # constant LAZY
            t, n_avg, pen = lazy_loop(data_e, c, state_e)
        else:
            t, n_avg, pen = epoch(data_e, c, state_e)
        pens[e] = pen
        for k in range(theta.shape[0]):
            for f in range(d + 1):
                if not np.isfinite(theta[k, f]):
                    return t, n_avg, pens, e + 1
    return t, n_avg, pens, orders.shape[0]
