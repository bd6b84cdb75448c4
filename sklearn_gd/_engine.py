"""Batching and ``run_epoch``: the one training loop every estimator uses.

One step on a batch ``B`` with sample weights ``sw``::

    raw  = X_B theta[:, :-1]^T + theta[:, -1]
    d    = sw * dloss/draw(Y_B, raw) / (|B| * mean(sw))
    grad = [d^T X_B, sum(d)] + l2 * [coef, 0]           (clipped to clip_norm)
    optimizer.step(theta, grad, state, lr_t, t)
    coef <- soft_threshold(coef, l1 * effective_step)  (L1 part, proximal)

The normaliser ``|B| * mean(sw)`` (the mean over all rows of the epoch) makes
the batch gradient an unbiased estimate of the full weighted-mean gradient
``sum(sw * grad) / sum(sw)``, and equal to it for the full batch: integer
weights then give exactly the steps of repeated rows. Normalising by the
batch's own ``sum(sw)`` instead would cancel the weight of a single-row batch.

All parameters live in ``theta`` of shape ``(n_outputs, n_features + 1)``, the
last column being the intercept.
"""

from collections import namedtuple

import numpy as np
from scipy import sparse
from sklearn.utils.extmath import row_norms

from ._kernel import (
    CompileError,
    Config,
    Data,
    State,
    compilable,
    numba_available,
    run_compiled,
    warn_once,
)
from ._products import raw_predictions
from ._shuffle import shuffle
from .exceptions import DivergenceError
from .losses import Labels, as_matrix
from .optimizers import clip_by_global_norm
from .penalties import cumulative_l1

# With engine='auto', epochs (or streams) of at least this many steps run compiled.
AUTO_COMPILE_STEPS = 2_000
# Epochs run in one compiled call keep their raw predictions: at most this many numbers.
_RAWS_AT_ONCE = 1 << 14
# An epoch keeps each row's raw prediction (by row, for one evaluation of its loss at
# the end) where they are at most this many numbers: with a matrix target, at most the
# target's own size up to 32 MB; with labels (an O(n) target), 0.5 MB. Beyond, it keeps
# only those of a run of batches (``_rows_at_once`` rows, or one batch), by position,
# and evaluates their loss after each run.
_RAWS_BY_ROW = 1 << 22
_LABELS_RAWS_BY_ROW = 1 << 16


def _rows_at_once(n_outputs):
    """Rows whose raw predictions are taken at once outside the loops (the loss values,
    the final check): 2^16 numbers, so that many classes cost no (n, K) temporaries."""
    return max(1, (1 << 16) // n_outputs)


def _index_type(n):
    """The type of row indices into ``n`` rows: int32 where it holds them."""
    return np.int32 if n <= np.iinfo(np.int32).max else np.intp


def row_chunks(X, n_outputs):
    """Slices of the rows of ``X`` whose raw predictions to take at once: 2^16 numbers
    (2^20 when ``X`` is sparse: each slice of it is a copy); one for all rows if they fit."""
    rows = _rows_at_once(n_outputs) * (16 if sparse.issparse(X) else 1)
    if rows >= X.shape[0]:
        return [slice(None)]
    return [slice(s, s + rows) for s in range(0, X.shape[0], rows)]


def rows_of(X, part):
    """The rows ``part`` (of ``row_chunks``) of ``X``: ``X`` itself for all of them
    (a slice of a sparse matrix is a copy)."""
    return X if part == slice(None) else X[part]


# One ``run_epochs`` call's epochs, as the loops read them: the data (and whether the
# weights differ: ``weighted``), each epoch's row order (None: the data's), the batches' starts
# and size, the step sizes ``lrs[e]``, the rows' curvatures ``sq`` (safe_steps), the
# gradient normaliser, and ``raws[e]``, where each row's raw prediction goes: by row,
# or (``by_row`` False) by position in the order, from the first row of the run of
# batches being run.
_Epoch = namedtuple("_Epoch", "X Y sw weighted orders starts b lrs sq mean_weight raws by_row")


class TrainState:
    """Everything training changes, as plain arrays and numbers.

    Attributes
    ----------
    theta : ndarray of shape (n_outputs, n_features + 1)
    opt_state : tuple of ndarray
        The optimizer's slots.
    t : int
        Optimizer steps taken.
    epoch : int
        Epochs run (``partial_fit`` calls count as one each).
    lr_scale : float
        Product of the plateau cuts so far.
    avg : ndarray or None
        Running average of ``theta`` (with ``average``).
    n_avg : int
        Number of iterates in ``avg``.
    weight_sum, rows_seen : float, int
        Sample weight and rows seen by a stream (``partial_fit``); their ratio
        normalises its gradients, so that a row's weight counts the same across
        calls as within one.
    """

    def __init__(self, theta, opt_state, average):
        self.theta = theta
        self.opt_state = opt_state
        self.t = 0
        self.epoch = 0
        self.lr_scale = 1.0
        self.avg = np.zeros_like(theta) if average else None
        self.n_avg = 0
        # The stream's normaliser: weight and rows seen over all partial_fit calls.
        self.weight_sum = 0.0
        self.rows_seen = 0
        self.l1 = None
        # The parameters it was trained with that a stream cannot change
        # (set by the estimator when it publishes the state).
        self.optimizer = self.average = self.fit_intercept = None

    def copy(self):
        new = object.__new__(TrainState)
        new.__dict__.update(self.__dict__)
        new.theta = self.theta.copy()
        new.opt_state = tuple(s.copy() for s in self.opt_state)
        new.avg = None if self.avg is None else self.avg.copy()
        if self.l1 is not None:
            new.l1 = (self.l1[0].copy(), self.l1[1].copy())
        return new

    def l1_penalty(self, theta):
        """The cumulative L1 penalty ``(u, q)`` of one-row steps (Tsuruoka et al.
        2009), made on first use: ``u`` the penalty each weight could have
        received so far, ``q`` the penalty it did receive."""
        if self.l1 is None:
            self.l1 = (np.zeros_like(theta), np.zeros_like(theta))
        return self.l1

    @property
    def weights(self):
        """The weights that predict: the average once averaging has begun."""
        return self.avg if self.n_avg else self.theta


def bound_factor(lr, row_curvature, total):
    """``safe_steps``: the factor that keeps a one-row step within ``1 / L_i``.

    ``row_curvature`` is ``c * ||x~_i||^2 * sw_i`` (``c`` the loss's curvature)
    and ``total`` the step's normaliser, so ``L_i = row_curvature / total`` and
    the step taken is ``min(lr, 1 / L_i)`` (normalised LMS: it never overshoots
    the row's own minimiser). Shared by the NumPy loop and the compiled loop.
    """
    if lr * row_curvature <= total:  # also a row of zeros: no curvature, no bound
        return 1.0
    return total / (lr * row_curvature)


def _int32_indices(X):
    """``X.indices`` and ``X.indptr`` as int32 where they fit (scipy's usual type).

    One index type means one compiled loop: int64 indices (scikit-learn's
    ``csr_64`` checks) would ask numba for a second specialisation, which numba
    0.60 fails to unbox into the loop already compiled for int32.
    """
    if X.indices.dtype == np.int32 or X.nnz >= np.iinfo(np.int32).max:
        return X.indices, X.indptr
    return X.indices.astype(np.int32), X.indptr.astype(np.int32)


def use_compiled(engine, reason, steps, task, verb):
    """The engine decision of a fit or a search that is not 'numpy': 'numba' always
    (a ``CompileError`` naming ``task`` where ``reason`` says the rules cannot
    compile), 'auto' when numba is installed, the run takes ``steps`` >=
    ``AUTO_COMPILE_STEPS`` and the rules compile (else it ``verb`` in NumPy, with a
    warning)."""
    if engine == "numba":
        if reason is not None:
            raise CompileError(f"engine='numba' cannot {task}: {reason}. "
                               "Use engine='numpy' or 'auto'.")  # fmt: skip
        return True
    if steps < AUTO_COMPILE_STEPS or not numba_available():
        return False
    if reason is not None:
        warn_once(reason, f"engine='auto' {verb} in NumPy: {reason}.")
        return False
    return True


class Trainer:
    """The resolved training rules of one estimator: loss, optimizer, schedule...

    Parameters
    ----------
    loss : Loss
    optimizer : Optimizer
    schedule : Schedule
    context : ScheduleContext
    penalty : Penalty
    learning_rate : float
    batch_size : int or 'full'
    fit_intercept, shuffle : bool
    clip_norm : float or None
    average_start : int
        First step whose iterate enters the average; 0 for no averaging.
    average_per_epoch : bool
        Average each epoch's iterates afresh (the weights then lag by half an
        epoch at most, not by everything since ``average_start``).
    engine : {'auto', 'numpy', 'numba'}
        Where the batch loop runs; see ``_compiled``.
    verbose : int
        2 or more prints the running loss about ten times an epoch.
    streaming : bool
        Training by ``partial_fit``: steps accumulate over calls, and the
        gradients are normalised by the mean weight of the whole stream.
    safe_steps : bool
        Bound each one-row step by the row's curvature (see ``bound_factor``).
    loss_gain : float, default=1.0
        The objective on ``y`` over the objective on the ``y / s`` trained on:
        the running loss is printed in the units of ``y``, as ``loss_curve_``.
    """

    def __init__(
        self,
        loss,
        optimizer,
        schedule,
        context,
        penalty,
        learning_rate,
        batch_size,
        fit_intercept,
        shuffle,
        clip_norm,
        average_start,
        average_per_epoch=False,
        engine="auto",
        verbose=0,
        streaming=False,
        safe_steps=False,
        loss_gain=1.0,
    ):
        self.loss = loss
        self.optimizer = optimizer
        self.schedule = schedule
        self.context = context
        self.penalty = penalty
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.fit_intercept = fit_intercept
        self.shuffle = shuffle
        self.clip_norm = clip_norm
        self.average_start = average_start
        self.average_per_epoch = average_per_epoch
        self.engine = engine
        self.verbose = verbose
        self.streaming = streaming
        self.safe_steps = safe_steps
        self.loss_gain = loss_gain
        self._rows = None  # (X, squared row norms) for safe_steps: they depend on X only
        self._curvatures = None  # (those norms, sw, sw times them): for _steps_taken
        self._order = None  # the last epoch's row order, shuffled again for the next
        self._identity = None  # the data's order, for the compiled loop (no shuffle)
        self._raws = None  # each row's raw prediction at its step, for the epoch's loss
        self._plan = None  # what an epoch computes from the weights alone (_epoch_plan)
        self._kernel = None  # the compiled loop that ran the last epoch, tried first
        self._config = None  # (what it depends on, the compiled loop's Config)
        # The test that X is finite, left by fit to the first epoch (_base._FiniteX):
        # called with proven=True where the epoch's raw predictions prove it, else run.
        self.input_check = None

    def init_state(self, theta):
        """A fresh ``TrainState`` starting from ``theta``."""
        return TrainState(theta, self.optimizer.init(theta), self.average_start > 0)

    def objective(self, mean_loss, weights):
        """Training objective: ``mean_loss`` (taken at ``weights``) plus ``alpha * R(coef)``."""
        return mean_loss + self.penalty.value(weights[:, :-1])

    def _safe_rows(self, X, n):
        """``c * ||x~_i||^2`` per row when ``safe_steps`` applies, else None.

        It applies to one-row batches of rules that are not scale-free, on a
        loss whose curvature is bounded by ``c``. A row whose norm overflows
        would get a zero step and train nothing: that is an error in ``X``.
        """
        if not (
            self.safe_steps
            and self.batch_size_for(n) == 1
            and not self.optimizer.scale_free
            and self.loss.curvature
        ):
            return None
        if self._rows is None or self._rows[0] is not X:
            with np.errstate(over="ignore", invalid="ignore"):
                sq = row_norms(X, squared=True) + float(self.fit_intercept)
            if not np.isfinite(sq).all():
                if self.input_check is not None:  # a NaN or inf in X: validation's error
                    self.input_check()
                raise ValueError(
                    "X has rows whose squared norm overflows float64 (the input is too "
                    "large to train on); scale the features, e.g. with StandardScaler."
                )
            self._rows = (X, sq * self.loss.curvature)
        return self._rows[1]

    def batch_size_for(self, n_samples):
        """Rows per batch on data of ``n_samples`` rows."""
        return n_samples if self.batch_size == "full" else min(self.batch_size, n_samples)

    def steps_per_epoch(self, n_samples):
        """Batches in an epoch over ``n_samples`` rows."""
        return -(-n_samples // self.batch_size_for(n_samples))

    def run_epoch(self, state, X, Y, sw, rng, progress=None):
        """One pass over ``(X, Y, sw)`` in batches, updating ``state`` in place.

        Returns the epoch's objective, the sample-weighted mean over the
        batches of ``loss + alpha * R`` with both terms taken at the weights
        each batch stepped from (for the full batch, exactly the objective at
        the epoch's starting weights), the step size actually taken at the
        epoch's last step, and the number of steps ``safe_steps`` bounded.
        Raises ``DivergenceError`` when the weights, the objective or the
        optimizer state stop being finite.

        ``progress``, if given, splits the batches into ``progress.segments``
        consecutive runs and has its ``begin()`` and ``end()`` called around
        each (the callbacks' view inside a long epoch); the steps are the same.
        """
        return self.run_epochs(state, X, Y, sw, rng, 1, progress)[0]

    def epochs_at_once(self, n_samples, n_outputs, max_epochs):
        """How many epochs ``run_epochs`` should run in one call (at most ``max_epochs``):
        several where the compiled loop runs them and the raw predictions of that many
        epochs stay small (``_RAWS_AT_ONCE`` numbers), else 1. Only for a caller that
        needs nothing from Python between the epochs (no step-size cuts, no stop, no
        look at the weights)."""
        b = self.batch_size_for(n_samples)
        if self.streaming or not self._compiled(n_samples, b, 0):
            return 1
        limit = min(_RAWS_AT_ONCE, _RAWS_BY_ROW, _LABELS_RAWS_BY_ROW)  # kept by row
        at_once = limit // (n_samples * n_outputs)
        return int(max(1, min(max_epochs, at_once)))

    def run_epochs(self, state, X, Y, sw, rng, n_epochs=1, progress=None):
        """``n_epochs`` epochs of ``run_epoch`` (several only in the compiled loop, in one
        call, and without ``progress``; one where a weight is zero): a list of its
        ``(objective, last step size, steps bounded)``, one per epoch run. The rows are
        shuffled as that many calls of ``run_epoch`` would shuffle them, with the same
        draws from ``rng``."""
        n = X.shape[0]
        b = self.batch_size_for(n)
        sq = self._safe_rows(X, n)
        K = state.theta.shape[0]
        weight_sum, positive, weighted, starts, steps, fraction = self._epoch_plan(sw, b)
        # With zero weights, which batches are skipped depends on the epoch's order.
        n_epochs = n_epochs if positive else 1
        orders = self._orders(rng, n, b, n_epochs)
        # verbose=2's running loss reads the raw predictions of every row so far.
        limit = _LABELS_RAWS_BY_ROW if isinstance(Y, Labels) else _RAWS_BY_ROW
        by_row = n_epochs * n * K <= limit or self.verbose >= 2
        if by_row:  # kept for the next epoch: rows of skipped batches keep their values
            if self._raws is None or self._raws.shape != (n_epochs, n, K):
                self._raws = np.zeros((n_epochs, n, K), dtype=state.theta.dtype)
            raws = self._raws
        else:  # a run's rows, made afresh (not held between epochs, nor in the final pass)
            raws = np.zeros((1, min(n, max(b, _rows_at_once(K))), K), dtype=state.theta.dtype)
        kept = raws.shape[1]
        if not positive:
            # A batch whose weights are all zero carries no gradient: skip it.
            # Its rows keep earlier (finite) predictions, weighted 0.
            batch_weight = np.add.reduceat(sw if orders is None else sw[orders[0]], starts)
            starts, fraction = starts[batch_weight > 0], fraction[batch_weight > 0]
            steps = steps[: len(starts)]
        if n_epochs > 1:
            epochs = np.arange(n_epochs)[:, None]
            steps = (steps + len(starts) * epochs).ravel()
            fraction = (fraction + epochs).ravel()
        lrs = self.schedule.rates(
            self.learning_rate, state.t + steps, state.epoch + fraction, self.context
        )
        lrs = np.asarray(lrs * state.lr_scale, dtype=np.float64).reshape(n_epochs, len(starts))
        if self.streaming:
            # The stream's mean weight, this call's rows included: a weight that
            # is constant within a call then still counts against other calls.
            state.weight_sum += weight_sum
            state.rows_seen += n
            mean_weight = state.weight_sum / state.rows_seen
        else:
            mean_weight = weight_sum / n
        epoch = _Epoch(X, Y, sw, weighted, orders, starts, b, lrs, sq, mean_weight, raws, by_row)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            compiled = self._compiled(n, b, state.t)
            penalty_sums, loss_sums = np.zeros(n_epochs), np.zeros(n_epochs)
            done = n_epochs
            finite_raws = True  # in the runs so far (for input_check)
            for runs in self._runs(starts, b, n, kept, progress):
                if progress:
                    progress.begin()
                for lo, hi in runs:
                    if compiled:
                        pens, done, compiled = self._compiled_loop(state, epoch, lo, hi)
                    else:
                        pens = [self._numpy_loop(state, epoch, e, lo, hi)
                                for e in range(n_epochs)]  # fmt: skip
                    penalty_sums[: len(pens)] += pens
                    if not by_row:  # one epoch: the loss of this run's rows
                        loss_sums[0] += self._run_loss(epoch, lo, hi)
                        if self.input_check is not None:
                            first, last = self._span(epoch, lo, hi)
                            finite_raws &= bool(np.isfinite(raws[0, : last - first]).all())
                if progress:
                    progress.end()
            if by_row:
                loss_sums = self._loss_sums(Y, sw, raws[:done])
            objectives = (loss_sums[:done] + penalty_sums[:done]) / weight_sum
        if self.input_check is not None:
            # The compiled loop sums every term of each row's product (every row, the
            # caller made sure): a non-finite x makes its raw prediction non-finite.
            # NumPy's products go through BLAS, which may skip a zero weight's column.
            check, self.input_check = self.input_check, None
            if by_row:
                finite_raws = bool(np.isfinite(raws[0]).all())
            check(proven=compiled and finite_raws)  # compiled: no NumPy fallback ran
        n_bound, last_lr = self._steps_taken(lrs[:done], starts, orders, sw, sq, mean_weight)
        # An infinite optimizer slot (Adam's second moment of a gradient that
        # overflowed) freezes the weights silently: that is divergence too. So is a
        # finite weight whose objective is not (the loss of 6e151 * x). (The compiled
        # loop stops after an epoch whose weights are not finite: its last here.)
        finite = np.isfinite(objectives).all()
        if not (
            finite
            and np.isfinite(state.theta).all()
            and all(np.isfinite(s).all() for s in state.opt_state)
        ):
            state.epoch += int(np.argmin(np.isfinite(objectives))) + 1 if not finite else done
            raise DivergenceError(self._divergence_message(state.epoch, X))
        state.epoch += done
        return list(zip(objectives.tolist(), last_lr, n_bound, strict=True))

    def _orders(self, rng, n, b, n_epochs):
        """The row order of each of ``n_epochs`` epochs, ``(n_epochs, n)``, or None (in
        the data's order). Each is a uniform shuffle of the last, drawn as
        ``rng.shuffle`` would draw it epoch by epoch (``Generator.permuted`` along
        rows takes the same draws, and Fisher-Yates applies the same swaps to any
        array, so a shuffle of last epoch's order is last epoch's order taken in the
        order of a shuffled ``arange``)."""
        if not self.shuffle or b >= n:  # one batch covers every row whatever the order
            return None
        if self._order is None or len(self._order) != n:
            # int32 where it fits: half the memory, one type for the compiled loop (the
            # shuffles draw the same permutation whatever the type).
            self._order = np.arange(n, dtype=_index_type(n))
        if n_epochs == 1:
            # A uniform shuffle of any order is uniform: shuffling last epoch's in
            # place saves making and filling a new array every epoch.
            shuffle(rng, self._order)
            return self._order[None]
        # Drawn in intp, which NumPy shuffles half again as fast as int32 (this path
        # is small data, several epochs a call: the draws are much of an epoch there).
        orders = np.empty((n_epochs, n), dtype=np.intp)
        orders[:] = np.arange(n)
        rng.permuted(orders, axis=1, out=orders)
        previous = self._order
        for order in orders:
            order[:] = previous[order]
            previous = order
        orders = orders.astype(self._order.dtype, copy=False)
        self._order = orders[-1].copy()
        return orders

    def _epoch_plan(self, sw, b):
        """What an epoch computes from the weights ``sw`` and batch size ``b`` alone, kept
        for the next epoch of the same fit (on small data, fixed costs like these are
        much of an epoch): ``sum(sw)``, whether every weight is positive, whether they
        differ, the batches' starts, the step numbers ``1..`` and each batch's position
        in the epoch."""
        plan = self._plan
        if plan is None or plan[0] is not sw or plan[1] != b:
            n = len(sw)
            starts = np.arange(0, n, b)
            # starts are multiples of b: starts / b is the batch index, exactly
            fraction = starts / b / -(-n // b)
            steps = np.arange(1, len(starts) + 1)
            low = sw.min()
            plan = self._plan = (sw, b, float(sw.sum()), bool(low > 0), bool(sw.max() != low),
                                 starts, steps, fraction)  # fmt: skip
        return plan[2:]

    def check_final(self, state, X, Y, sw, value=None):
        """Raise ``DivergenceError`` unless the objective at the weights a call ends
        with is finite: a last step can leave finite weights (6e151) whose loss is not.

        One pass over the rows, once per ``fit`` or ``partial_fit`` call, unless the
        caller has that objective already (``value``); returns it.
        """
        if value is None:
            value = self.objective_at(state.weights, X, Y, sw)
        if not np.isfinite(value):
            raise DivergenceError(self._divergence_message(state.epoch, X))
        return value

    def objective_at(self, weights, X, Y, sw):
        """The training objective at ``weights`` on all rows (one pass; nan or inf
        where the loss overflows)."""
        coef, intercept = weights[:, :-1], weights[:, -1]
        constant = not coef.any()  # the usual start: no product needed
        with np.errstate(over="ignore", invalid="ignore"):
            # ... and for classes no pass over the rows either (3 ms at 10^6 rows).
            value = (self.loss.constant_sum(Y, sw, intercept, _rows_at_once(Y.shape[1]))
                     if constant else None)  # fmt: skip
            if value is None:
                value = 0.0
                # Not (n, K) predictions at once (GBs for many classes), nor many slices
                # of a sparse X (each a copy).
                for part in row_chunks(X, Y.shape[1]):
                    Yp = Y[part]
                    if constant:
                        raw = np.broadcast_to(intercept, Yp.shape)
                    else:
                        raw = raw_predictions(rows_of(X, part), coef)
                        raw += intercept
                    value += self._loss_sum(Yp, sw[part], raw)
            return value / float(sw.sum()) + self.penalty.value(coef)

    def _steps_taken(self, lrs, starts, orders, sw, sq, mean_weight):
        """How many of each epoch's steps ``safe_steps`` bounded, and the last step taken
        (``lrs`` of shape ``(n_epochs, n_batches)``; arrays of ``n_epochs``).

        Counted here, vectorised, from what the loops bound by (one-row batches:
        ``total`` is ``mean_weight``), rather than by a counter in the loops.
        """
        n_epochs = lrs.shape[0]
        if not lrs.shape[1]:
            return [0] * n_epochs, [float(self.learning_rate)] * n_epochs
        last = lrs[:, -1].tolist()
        if sq is None:
            return [0] * n_epochs, last
        kept = self._curvatures
        if kept is None or kept[0] is not sq or kept[1] is not sw:
            kept = self._curvatures = (sq, sw, sw * sq)  # the same every epoch of a fit
        # one-row batches: every row starts a batch, and orders is the rows stepped on
        every_row = orders is not None and len(starts) == orders.shape[1]
        if every_row and lrs.min() == lrs.max():
            # One step size, each row stepped on once an epoch: the count is the same
            # whatever the order, and needs no gather of the rows in it.
            n_bound = [int(np.count_nonzero(lrs[0, 0] * kept[2] > mean_weight))] * n_epochs
            last_curvature = kept[2][orders[:, -1]].tolist()
        else:
            rows = starts if orders is None else orders if every_row else orders[:, starts]
            curvature = kept[2][rows]
            n_bound = np.count_nonzero(lrs * curvature > mean_weight, axis=-1).tolist()
            last_curvature = curvature[..., -1].tolist()  # one per epoch, or one for all
            if orders is None:
                last_curvature = [last_curvature] * n_epochs
        return n_bound, [lr * bound_factor(lr, c, mean_weight)
                         for lr, c in zip(last, last_curvature, strict=True)]  # fmt: skip

    def _divergence_message(self, epoch, X):
        """Why training diverged: the input overflowed, or the step was too large."""
        with np.errstate(over="ignore", invalid="ignore"):
            overflow = not np.isfinite(row_norms(X, squared=True)).all()
        if overflow:
            return (
                f"Training diverged in epoch {epoch}: the input overflowed (X has rows "
                "whose squared norm is not finite in float64), not the learning_rate: "
                "scale the features, e.g. with StandardScaler."
            )
        return (
            f"Training diverged in epoch {epoch} with learning_rate={self.learning_rate}: "
            "the objective, the weights or the optimizer state became non-finite. Use a "
            "smaller learning_rate, scale the features (e.g. StandardScaler), or set "
            "clip_norm."
        )

    def _loss_sum(self, Y, sw, raws):
        """``sum(sw * loss(Y, raws))``, in chunks that keep the loss's temporaries small.

        Both loops only record each row's raw prediction at its step: one
        vectorised evaluation afterwards costs less than one per batch (or, in
        the compiled loop, a ``log1p`` call per row).
        """
        chunk = _rows_at_once(Y.shape[1])
        if len(sw) <= chunk:
            return float(sw @ self.loss.value(Y, raws))
        return sum(
            float(sw[s : s + chunk] @ self.loss.value(Y[s : s + chunk], raws[s : s + chunk]))
            for s in range(0, len(sw), chunk)
        )

    def _loss_sums(self, Y, sw, raws):
        """``_loss_sum`` of each epoch's raw predictions ``raws[e]``: an array. Several
        small epochs take one evaluation of the loss (one per epoch would cost as
        much as a small epoch)."""
        n_epochs, n, K = raws.shape
        if n_epochs == 1:
            return np.array([self._loss_sum(Y, sw, raws[0])])
        Ys = np.broadcast_to(as_matrix(Y), raws.shape).reshape(-1, K)  # small: _RAWS_AT_ONCE
        return self.loss.value(Ys, raws.reshape(-1, K)).reshape(n_epochs, n) @ sw

    def _compiled(self, n_samples, batch_size, steps_taken):
        """Whether this epoch runs in the compiled loop.

        'auto' compiles where it pays: numba must be installed, and the whole run
        must take many steps (``max_iter`` epochs of ``fit``, or the stream's steps
        so far and this call's), since each small step costs the interpreter far
        more than the arithmetic, while a compilation is paid once per machine (the
        disk cache). A loss or optimizer the loop cannot run (an overridden
        ``step()``) stays in NumPy, with a warning; with 'numba' it is an error.
        """
        if self.engine == "numpy" or self.verbose >= 2:  # per-batch lines come from Python
            return False
        reason = compilable(type(self.loss), type(self.optimizer), l1=bool(self.penalty.l1))
        epoch = -(-n_samples // batch_size)
        steps = steps_taken + epoch if self.streaming else epoch * self.context.max_iter
        return use_compiled(self.engine, reason, steps, "train this model", "trains")

    def _runs(self, starts, b, n, kept, progress):
        """The epoch's batches as runs ``(lo, hi)`` of ``starts[lo:hi]``, grouped by
        ``progress`` segment (``progress.segments`` consecutive ones, else one), each
        run's rows at most ``kept`` (but one batch at least): the rows whose raw
        predictions the loops keep at once."""
        segments = progress.segments if progress else 1
        edges = [len(starts) * i // segments for i in range(segments + 1)]
        groups = []
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            runs = []
            while lo < hi:
                # Those batches whose last row (min(start + b, n) - 1) is kept.
                limit = starts[lo] + kept
                end = hi if n <= limit else np.searchsorted(starts, limit - b, side="right")
                runs.append((lo, min(hi, max(int(end), lo + 1))))
                lo = runs[-1][1]
            groups.append(runs)
        return groups

    def _span(self, epoch, lo, hi):
        """The positions in the epoch's order of the rows of batches ``lo..hi - 1``."""
        return int(epoch.starts[lo]), min(int(epoch.starts[hi - 1]) + epoch.b, len(epoch.sw))

    def _run_loss(self, epoch, lo, hi):
        """``sum(sw * loss)`` of the rows of batches ``lo..hi - 1`` (one epoch), from the
        raw predictions the loop kept of them by position."""
        first, last = self._span(epoch, lo, hi)
        rows = slice(first, last) if epoch.orders is None else epoch.orders[0, first:last]
        return self._loss_sum(epoch.Y[rows], epoch.sw[rows], epoch.raws[0, : last - first])

    def _numpy_loop(self, state, epoch, e, lo, hi):
        """Batches ``lo..hi - 1`` of epoch ``e`` of ``run_epochs`` in NumPy; returns
        ``sum_B sum(sw_B) * alpha * R(w_B)``, the penalty at the weights ``w_B`` each
        batch stepped from."""
        X, Y, sw, weighted, orders, starts, b, lrs, sq, mean_weight, raws, by_row = epoch
        order = None if orders is None else orders[e]
        starts, lrs, raws = starts[lo:hi], lrs[e, lo:hi], raws[e]
        if self.average_per_epoch and lo == 0:
            state.n_avg = 0
        theta, opt, penalty = state.theta, self.optimizer, self.penalty
        coef = theta[:, :-1]
        grad = np.zeros_like(theta)
        step = np.empty_like(theta)
        decay = opt.decoupled_decay
        dense = not sparse.issparse(X)
        cumulative = penalty.l1 and b == 1
        if cumulative:
            u, q = state.l1_penalty(theta)
        base = starts[0] if len(starts) else 0
        report_every = max(1, len(epoch.starts) // 10) if self.verbose >= 2 else 0
        penalty_sum = 0.0
        for k, start in enumerate(starts, lo):
            if order is None:
                rows = slice(start, start + b)
            else:
                rows = order[start : start + b]
            Xb, Yb, swb = X[rows], Y[rows], sw[rows]
            if by_row:
                raw = Xb @ coef.T
                if self.fit_intercept:
                    raw += theta[:, -1]
                raws[rows] = raw
            else:  # written in place: the kept rows hold the batch's raw predictions
                raw = raws[start - base : start - base + len(swb)]
                if dense:
                    np.matmul(Xb, coef.T, out=raw)
                else:
                    raw[...] = Xb @ coef.T
                if self.fit_intercept:
                    raw += theta[:, -1]
            total = len(swb) * mean_weight
            if penalty.l1 or penalty.l2:
                penalty_sum += float(swb.sum()) * penalty.value(coef)
            d = self.loss.gradient(Yb, raw)
            d *= (swb / total)[:, None]
            grad[:, :-1] = d.T @ Xb if dense else (Xb.T @ d).T
            if self.fit_intercept:
                grad[:, -1] = d.sum(axis=0)
            # A batch's gradient by row is (b, n_outputs): 1 MB at 256 rows and 500
            # classes, held through the step's temporaries unless let go here.
            del d
            lr = lrs[k - lo]
            if sq is not None:
                lr *= bound_factor(lr, float(swb @ sq[rows]), total)
            # The plain rule's L2 part is the shrink (1 - lr * l2) coef: past
            # lr * l2 = 1 it would flip the sign, so clamp it at 0 (as
            # scikit-learn's SGD does), which is stepping from coef = 0.
            clamp = opt.linear and lr * penalty.l2 > 1.0
            if clamp:
                coef[...] = 0.0
            else:
                penalty.add_gradient(grad[:, :-1], coef)
            clip_by_global_norm(grad, self.clip_norm)
            state.t += 1
            if decay:  # decoupled decay first, as AdamW's Algorithm 2, torch and optax
                coef *= 1.0 - lr * decay
            opt.step(theta, grad, state.opt_state, lr, state.t)
            if penalty.l1:
                opt.effective_step(state.opt_state, lr, state.t, step)
                if cumulative:
                    u += penalty.l1 * step
                    coef[...], q[:, :-1] = cumulative_l1(coef, u[:, :-1], q[:, :-1])
                else:
                    penalty.prox(coef, step[:, :-1])
            if self.average_start and state.t >= self.average_start:
                state.n_avg += 1
                state.avg += (theta - state.avg) * (1.0 / state.n_avg)
            if report_every and (k + 1) % report_every == 0:
                seen = min(start + b, len(sw))
                done = slice(seen) if order is None else order[:seen]
                loss_sum = self._loss_sum(Y[done], sw[done], raws[done])
                print(f"   batch {k + 1}/{len(epoch.starts)}: running loss "
                      f"{self.loss_gain * loss_sum / (seen * mean_weight):.6g}, "
                      f"step size {lr:.3g}")  # fmt: skip
        return penalty_sum

    def _compiled_loop(self, state, epoch, lo, hi):
        """Batches ``lo..hi - 1`` of every epoch of ``run_epochs`` in ``_loop.loop``, in one
        call; returns each epoch's penalty sum (a list), the number of epochs run (it
        stops after an epoch whose weights are not finite) and whether the compiled
        loop ran (else NumPy did, with a warning, and runs the rest of the fit)."""
        X, Y, sw, weighted, orders, starts, b, lrs, sq, mean_weight, raws, by_row = epoch
        is_sparse = sparse.issparse(X)
        data = (X.data, *_int32_indices(X)) if is_sparse else X
        n_epochs = lrs.shape[0]
        if orders is None:  # the data's order, made once for the runs and epochs of a fit
            shape = (n_epochs, X.shape[0])
            if self._identity is None or self._identity.shape != shape:
                self._identity = np.empty(shape, dtype=_index_type(X.shape[0]))
                self._identity[:] = np.arange(X.shape[0])
            orders = self._identity
        safe = sq is not None
        avg = state.avg if state.avg is not None else state.theta
        cumulative = bool(self.penalty.l1) and b == 1
        u, q = state.l1_penalty(state.theta) if cumulative else (state.theta, state.theta)
        # The same every epoch of a fit but a stream's mean weight: made once (the
        # optimizer's hyperparameters alone cost microseconds, an epoch of 650 rows ~60).
        key = (b, safe, cumulative, mean_weight, by_row, weighted)
        if self._config is None or self._config[0] != key:
            self._config = key, tuple(Config(
                b, self.optimizer.hyper, float(self.loss.param), float(self.penalty.l2),
                float(self.penalty.l1), self.fit_intercept, float(self.clip_norm or 0.0),
                float(self.optimizer.decoupled_decay), safe, bool(self.optimizer.linear),
                cumulative, mean_weight, self.average_start, self.average_per_epoch, by_row,
                weighted,
            ))  # fmt: skip
        if self.average_per_epoch and lo == 0:  # the loop starts it afresh from epoch 2 on
            state.n_avg = 0
        labels = isinstance(Y, Labels)
        target = (Y.index, Y.low, Y.high) if labels else Y
        part = lrs if (lo, hi) == (0, lrs.shape[1]) else np.ascontiguousarray(lrs[:, lo:hi])
        # Plain tuples: see _loop.loop.
        args = (
            tuple(Data(data, X.shape[1], target, sw, sq if safe else sw, orders,
                       starts[lo:hi], part, raws)),
            self._config[1],
            tuple(State(state.theta, state.opt_state, u, q, avg, state.t, state.n_avg)),
        )  # fmt: skip
        try:
            (state.t, state.n_avg, pens, done), self._kernel = run_compiled(
                type(self.loss), type(self.optimizer), is_sparse, args, self._kernel, False,
                labels,
            )  # fmt: skip
        except CompileError as exc:  # raised before the loop starts: nothing changed
            if self.engine == "numba":
                raise
            warn_once(str(exc), f"engine='auto' trains in NumPy: {exc}.")
            pens = [self._numpy_loop(state, epoch, e, lo, hi) for e in range(n_epochs)]
            return pens, n_epochs, False
        return pens[:done], done, True
