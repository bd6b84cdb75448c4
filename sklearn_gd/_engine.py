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

import numpy as np
from scipy import sparse
from sklearn.utils.extmath import row_norms, safe_sparse_dot

from ._kernel import compiled_loop, numba_available
from .optimizers import clip_by_global_norm

# With engine='auto', epochs (or streams) of at least this many steps run compiled.
AUTO_COMPILE_STEPS = 2_000


class DivergenceError(FloatingPointError, ValueError):
    """Training produced non-finite weights or loss.

    Raised by ``fit`` and ``partial_fit`` when a step makes the weights or the
    objective non-finite; the message names the epoch and suggests a smaller
    ``learning_rate`` or scaling the features. The estimator is left as it
    was before the call. It subclasses both ``FloatingPointError`` and
    ``ValueError``, so either ``except`` clause catches it.

    See Also
    --------
    find_learning_rate : Find a step size below the one that diverges.

    Examples
    --------
    >>> from sklearn_gd import DivergenceError
    >>> issubclass(DivergenceError, ValueError)
    True
    """


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
    """

    def __init__(self, theta, opt_state, average):
        self.theta = theta
        self.opt_state = opt_state
        self.t = 0
        self.epoch = 0
        self.lr_scale = 1.0
        self.avg = np.zeros_like(theta) if average else None
        self.n_avg = 0

    def copy(self):
        new = object.__new__(TrainState)
        new.__dict__.update(self.__dict__)
        new.theta = self.theta.copy()
        new.opt_state = tuple(s.copy() for s in self.opt_state)
        new.avg = None if self.avg is None else self.avg.copy()
        return new

    @property
    def weights(self):
        """The weights that predict: the average once averaging has begun."""
        return self.avg if self.n_avg else self.theta


def _largest_eigenvalue(X, sw, fit_intercept, n_iter=20, max_rows=1000):
    """Power-iteration estimate of ``lambda_max(X~^T W X~ / sum(W))`` on a row subsample.

    ``X~`` is ``X`` with a column of ones when fitting an intercept. Rows are
    taken evenly spaced, so the estimate is deterministic.
    """
    n = X.shape[0]
    rows = np.unique(np.linspace(0, n - 1, min(n, max_rows)).astype(np.intp))
    Xs, ws = X[rows], sw[rows].astype(np.float64)
    if ws.sum() <= 0:
        return 0.0
    ws = ws / ws.sum()
    v = np.ones(X.shape[1] + 1)
    if not fit_intercept:
        v[-1] = 0.0
    lam = 0.0
    for _ in range(n_iter):
        u = safe_sparse_dot(Xs, v[:-1], dense_output=True) + v[-1]
        wu = ws * u
        Av = np.empty_like(v)
        Av[:-1] = safe_sparse_dot(wu, Xs, dense_output=True)
        Av[-1] = wu.sum() if fit_intercept else 0.0
        lam = float(np.linalg.norm(Av))
        if lam == 0.0 or not np.isfinite(lam):
            break
        v = Av / lam
    return lam


def bound_factor(m, nb, n, lam, curvature, reference):
    """How much to scale a step so that it stays within ``1 / L_B`` (see ``_step_bound``).

    ``m`` is the batch's weighted mean of ``||x~_i||^2``, ``nb`` its rows out of
    ``n``. Shared by the NumPy loop and the compiled loop.
    """
    spread = lam if nb == n else min(m, lam + m / nb)
    bound = curvature * spread * reference
    return 1.0 if bound <= 1.0 else 1.0 / bound  # an all-zero batch has no curvature


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
        Training by ``partial_fit``: steps accumulate over calls.
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
        self._bound = None  # (X, sw, bound): the step bound depends on the data only
        self._order = None  # the last epoch's row order, shuffled again for the next
        self._raws = None  # each row's raw prediction at its step, for the epoch's loss

    def init_state(self, theta):
        """A fresh ``TrainState`` starting from ``theta``."""
        return TrainState(theta, self.optimizer.init(theta), self.average_start > 0)

    def objective(self, mean_loss, weights):
        """Training objective: mean loss plus ``alpha * R(coef)``."""
        return mean_loss + self.penalty.value(weights[:, :-1])

    def _step_bound(self, X, sw):
        """Per-row squared norms and a curvature estimate for the step bound.

        Rules that are not scale-free (SGD, momentum) diverge when the step
        exceeds 2 / L, where L bounds the curvature of the batch objective.
        For a batch B, ``L <= c * min(m_B, lambda + m_B / |B|)`` with ``c`` the
        loss's curvature, ``m_B`` the weighted mean of ``||x~_i||^2`` over B and
        ``lambda`` the largest eigenvalue of the full weighted Gram matrix. For
        a single sample this is exact (normalised LMS: one step never
        overshoots the sample's own minimiser); for the full batch it is the
        classic ``1 / L`` step (``lambda`` alone when the batch is all the
        rows, so weights and repeated rows get the same step). ``m_B`` is
        weighted as the gradient is.

        Where ``1 / L_B`` is below the schedule's reference step (the larger of
        ``learning_rate`` and its first step), the whole schedule is scaled by
        their ratio, so a decaying schedule keeps decaying. Returns None when
        no bound applies.
        """
        if self.optimizer.scale_free or not self.loss.curvature:
            return None
        sq = row_norms(X, squared=True) + float(self.fit_intercept)
        if self.optimizer.slots:
            # Momentum carries past gradients into later steps, so a bound that
            # varies from batch to batch lets a large row's velocity land with
            # the step of a small one: bound the whole epoch by its largest row.
            sq = np.full_like(sq, sq[sw > 0].max())
        first = self.schedule.rates(self.learning_rate, np.array([1]), np.zeros(1), self.context)
        reference = max(self.learning_rate, float(first[0]))
        n = X.shape[0]
        # One-row batches are bounded by their own norm alone (m_B < lambda + m_B).
        one_row = self.batch_size_for(n) == 1 and n > 1
        lam = np.inf if one_row else _largest_eigenvalue(X, sw, self.fit_intercept)
        return sq, lam, self.loss.curvature, reference

    def batch_size_for(self, n_samples):
        """Rows per batch on data of ``n_samples`` rows."""
        return n_samples if self.batch_size == "full" else min(self.batch_size, n_samples)

    def run_epoch(self, state, X, Y, sw, rng, progress=None):
        """One pass over ``(X, Y, sw)`` in batches, updating ``state`` in place.

        Returns the sample-weighted mean loss over the epoch (each batch's loss
        at the weights it was evaluated with, as scikit-learn's SGD reports it)
        and the step size of the epoch's last step. Raises ``DivergenceError``
        when the weights or the loss stop being finite.

        ``progress``, if given, splits the batches into ``progress.segments``
        consecutive runs and has its ``begin()`` and ``end()`` called around
        each (the callbacks' view inside a long epoch); the steps are the same.
        """
        n = X.shape[0]
        b = self.batch_size_for(n)
        # One batch covers every row whatever the order: do not shuffle (or copy) X.
        order = None
        if self.shuffle and b < n:
            if self._order is None or len(self._order) != n:
                self._order = np.arange(n)
            # A uniform shuffle of any order is uniform: shuffling last epoch's
            # in place saves making and filling a new array every epoch.
            rng.shuffle(self._order)
            order = self._order
        starts = np.arange(0, n, b)
        K = state.theta.shape[0]
        if self._raws is None or self._raws.shape != (n, K):
            self._raws = np.zeros((n, K), dtype=state.theta.dtype)
        raws = self._raws
        if sw.min() <= 0:
            # A batch whose weights are all zero carries no gradient: skip it.
            # Its rows keep an earlier epoch's (finite) predictions, weighted 0.
            batch_weight = np.add.reduceat(sw if order is None else sw[order], starts)
            starts = starts[batch_weight > 0]
        steps = np.arange(1, len(starts) + 1)
        # starts are multiples of b: starts / b is the batch index, exactly (and faster than //)
        positions = state.epoch + starts / b / -(-n // b)
        lrs = self.schedule.rates(self.learning_rate, state.t + steps, positions, self.context)
        lrs = np.asarray(lrs * state.lr_scale, dtype=np.float64)
        if self._bound is None or self._bound[0] is not X or self._bound[1] is not sw:
            self._bound = (X, sw, self._step_bound(X, sw))
        bound = self._bound[2]
        mean_weight = float(sw.sum()) / n
        if self.average_per_epoch:
            state.n_avg = 0
        loop = self._compiled_loop if self._compiled(n, b, state.t) else self._numpy_loop
        segments = progress.segments if progress else 1
        edges = [len(starts) * i // segments for i in range(segments + 1)]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for lo, hi in zip(edges[:-1], edges[1:], strict=True):
                if progress:
                    progress.begin()
                loop(state, X, Y, sw, order, starts[lo:hi], b, lrs[lo:hi], bound, mean_weight,
                     raws)  # fmt: skip
                if progress:
                    progress.end()
            mean_loss = self._loss_sum(Y, sw, raws) / sw.sum()
        state.epoch += 1
        # An infinite optimizer slot (Adam's second moment of a gradient that
        # overflowed) freezes the weights silently: that is divergence too.
        finite = np.isfinite(mean_loss) and np.isfinite(state.theta).all()
        if not (finite and all(np.isfinite(s).all() for s in state.opt_state)):
            raise DivergenceError(
                f"Training diverged in epoch {state.epoch}: the loss, the weights or "
                "the optimizer state became non-finite. Use a smaller learning_rate, "
                "scale the features (e.g. StandardScaler), or set clip_norm."
            )
        return mean_loss, float(lrs[-1]) if len(lrs) else float(self.learning_rate)

    def _loss_sum(self, Y, sw, raws, chunk=1 << 16):
        """``sum(sw * loss(Y, raws))``, in chunks that keep the loss's temporaries small.

        Both loops only record each row's raw prediction at its step: one
        vectorised evaluation afterwards costs less than one per batch (or, in
        the compiled loop, a ``log1p`` call per row).
        """
        return sum(
            float(sw[s : s + chunk] @ self.loss.value(Y[s : s + chunk], raws[s : s + chunk]))
            for s in range(0, len(sw), chunk)
        )

    def _compiled(self, n_samples, batch_size, steps_taken):
        """Whether this epoch runs in the compiled loop.

        'auto' compiles only where it pays: numba must be installed, and the
        epoch must take many steps, or (``streaming``) the stream must have
        taken many already, since each small step costs the interpreter far
        more than the arithmetic. Small fits never wait for a compilation.
        """
        if self.engine == "numpy" or self.verbose >= 2:  # per-batch lines come from Python
            return False
        if self.engine == "numba":
            return True
        long_run = n_samples // batch_size >= AUTO_COMPILE_STEPS or (
            self.streaming and steps_taken >= AUTO_COMPILE_STEPS
        )
        return long_run and numba_available()

    def _numpy_loop(self, state, X, Y, sw, order, starts, b, lrs, bound, mean_weight, raws):
        theta, opt, penalty = state.theta, self.optimizer, self.penalty
        coef = theta[:, :-1]
        grad = np.zeros_like(theta)
        step = np.empty_like(theta)
        decay = opt.decoupled_decay
        dense = not sparse.issparse(X)
        report_every = max(1, len(starts) // 10) if self.verbose >= 2 else 0
        for k, start in enumerate(starts):
            if order is None:
                rows = slice(start, start + b)
            else:
                rows = order[start : start + b]
            Xb, Yb, swb = X[rows], Y[rows], sw[rows]
            raw = Xb @ coef.T
            if self.fit_intercept:
                raw += theta[:, -1]
            raws[rows] = raw
            total = len(swb) * mean_weight
            d = self.loss.gradient(Yb, raw)
            d *= (swb / total)[:, None]
            grad[:, :-1] = d.T @ Xb if dense else (Xb.T @ d).T
            if self.fit_intercept:
                grad[:, -1] = d.sum(axis=0)
            penalty.add_gradient(grad[:, :-1], coef)
            clip_by_global_norm(grad, self.clip_norm)
            lr = lrs[k]
            if bound is not None:
                sq, lam, curvature, reference = bound
                m = float(swb @ sq[rows]) / total
                lr *= bound_factor(m, len(swb), len(sw), lam, curvature, reference)
            state.t += 1
            opt.step(theta, grad, state.opt_state, lr, state.t)
            if decay:
                coef *= 1.0 - lr * decay
            if penalty.l1:
                opt.effective_step(state.opt_state, lr, state.t, step)
                penalty.prox(coef, step[:, :-1])
            if self.average_start and state.t >= self.average_start:
                state.n_avg += 1
                state.avg += (theta - state.avg) * (1.0 / state.n_avg)
            if report_every and (k + 1) % report_every == 0:
                seen = min(start + b, len(sw))
                done = slice(seen) if order is None else order[:seen]
                loss_sum = self._loss_sum(Y[done], sw[done], raws[done])
                print(f"   batch {k + 1}/{len(starts)}: running loss "
                      f"{loss_sum / (seen * mean_weight):.6g}, step size {lr:.3g}")  # fmt: skip

    def _compiled_loop(self, state, X, Y, sw, order, starts, b, lrs, bound, mean_weight, raws):
        is_sparse = sparse.issparse(X)
        loop = compiled_loop(type(self.loss), type(self.optimizer), is_sparse)
        data = (X.data, X.indices, X.indptr) if is_sparse else X
        if order is None:
            order = np.arange(X.shape[0])
        # No bound: curvature 0 switches it off in the loop (sq is then unused).
        sq, lam, curvature, reference = bound if bound is not None else (sw, 0.0, 0.0, 1.0)
        avg = state.avg if state.avg is not None else state.theta
        state.t, state.n_avg = loop(
            data, X.shape[1], Y, sw, order, starts, b, state.theta, state.opt_state, lrs,
            self.optimizer.hyper, float(self.loss.param), float(self.penalty.l2),
            float(self.penalty.l1), self.fit_intercept, float(self.clip_norm or 0.0),
            float(self.optimizer.decoupled_decay), sq, float(lam), float(curvature),
            float(reference), mean_weight, avg, self.average_start, state.t, state.n_avg, raws,
        )  # fmt: skip
