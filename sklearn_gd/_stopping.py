"""The monitor: after each epoch, continue, cut the step size, or stop.

It watches one value where lower is better (the training objective, or minus
the validation score with early stopping), keeps a copy of the best epoch's
weights when asked, and applies the cuts of ``Auto``, ``Adaptive`` and
``ReduceOnPlateau``.

The rules:

- **scikit-learn's** (a validation score, and every fit with ``'adaptive'``,
  which is scikit-learn's schedule exactly): an epoch is bad when its value is
  above ``best - tol`` (``tol`` absolute); after ``n_iter_no_change`` bad epochs
  in a row ``'adaptive'`` divides the step size by 5 while it is above 1e-6
  and starts counting afresh, and otherwise training stops. ``tol=None``
  counts nothing: no cut, no stop.
- **the convergence rule** (the training objective, deterministic steps, and
  the explicit schedules on stochastic ones): stop when the objective's
  remaining decrease, extrapolated from its last two windows of
  ``n_iter_no_change`` epochs at one step size, is at most ``tol`` times the
  objective, or when no epoch has set a new best for ``n_iter_no_change``
  epochs. With a linearly converging method the decreases of successive
  windows fall by a ratio ``r < 1``, and what is left after the last window
  ``D`` is ``D * r / (1 - r)``. Deterministic steps extrapolate only from
  windows where the objective fell at every epoch: an overshoot (Adam's
  momentum) is no geometric descent. An absolute ``tol`` on the decrease per
  epoch stops a slow descent early (full-batch Adam ended 15-72% above the
  optimum on four datasets); an estimate of what is left does not.
- **'auto' on stochastic batches** (``Auto``): batches make the epoch's
  objective noisy, and the weights of a constant step settle at a distance
  from the optimum that shrinks with the step. The monitor reads the objective
  at the averaged weights (one pass), cuts the step size by ``factor`` when it
  rises by more than ``tol`` (relative) over a window, or when it stays in a
  band of ``tol`` (where this step leads), and stops at a band that lies within
  ``tol`` of the band before the cut: a smaller step no longer helps. Windows
  and bands are counted in epochs of at least ``WINDOW_STEPS`` and
  ``BAND_STEPS`` optimizer steps, so that a large dataset decides
  after an epoch and a small one sees its batches' noise. On deterministic
  steps ``'auto'`` is a constant step that the convergence rule stops; it cuts
  only after ``patience`` epochs without a new best (an overshoot).

``ReduceOnPlateau`` cuts the step size after ``patience`` epochs without a
relative improvement of ``threshold`` (torch's ``threshold_mode='rel'``); on
stochastic batches it stops when a stall follows a cut that improved the best
value by at most ``tol`` (relative): later cuts would bring less still.

A schedule with a horizon (``CosineAnnealing``, ``Warmup``) is not stopped
before its horizon: its step sizes are meant to be walked to the end.

A plateau stop while the objective still fell at every epoch of the last
window (a slow descent cut short, e.g. full-batch Adam with 'adaptive') is
reported by ``fit`` with a ``ConvergenceWarning`` (``Monitor.stopped_short``).
"""

import numpy as np

from .schedules import Adaptive, Auto, plateau_of

# scikit-learn's 'adaptive' cuts while the step size is above this.
ADAPTIVE_FLOOR = 1e-6

# 'auto' on stochastic batches: the monitor's windows (a rise) and bands (a
# plateau) hold at least this many optimizer steps, in whole epochs: one epoch
# of a large dataset, several of a small one, whose few batches are noisy.
WINDOW_STEPS = 100
BAND_STEPS = 300


class Monitor:
    """Epoch-level decisions of one ``fit``.

    Parameters
    ----------
    tol : float or None
        None never stops early and never cuts.
    n_iter_no_change : int
    plateau : ReduceOnPlateau or None
        The plateau-reducing schedule in use, if any.
    learning_rate : float
        The base step size: the plateau cuts are taken on
        ``learning_rate * lr_scale``.
    keep_best : bool
        Copy the weights at each new best epoch.
    objective : bool, default=False
        The value is the training objective (else a validation score): use the
        convergence rule unless the schedule is ``'adaptive'``.
    min_epochs : int, default=0
        No stop before this many epochs (a schedule's horizon).
    stochastic : bool, default=False
        The steps are on batches smaller than the data.
    window, band : int or None, default=None
        ``'auto'`` on stochastic batches: the epochs of a window (a rise) and of
        a band (a plateau); None: ``n_iter_no_change`` and three times it.
    """

    def __init__(
        self, tol, n_iter_no_change, plateau, learning_rate, keep_best, objective=False,
        min_epochs=0, stochastic=False, window=None, band=None,
    ):  # fmt: skip
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.keep_best = keep_best
        self.learning_rate = learning_rate
        self.plateau = plateau
        self.adaptive = isinstance(plateau, Adaptive)
        self.objective = objective
        self.converge_rule = objective and not self.adaptive
        self.min_epochs = min_epochs
        self.stochastic = stochastic
        self.auto = isinstance(plateau, Auto)
        self.window = window or n_iter_no_change
        self.band = band or 3 * n_iter_no_change
        if plateau is not None and not self.adaptive:
            self.patience = plateau.patience or n_iter_no_change
            self.threshold = plateau.threshold if plateau.threshold is not None else tol or 0.0
        self.best = np.inf
        self.best_epoch = None
        self.best_weights = None
        self.stall = 0
        self.plateau_best = np.inf
        self.plateau_stall = 0
        self.best_at_cut = np.inf
        self.history = []
        self.stop_reason = None
        self.last_cut = 0  # the number of epochs seen at the last cut
        self.flat_before = None  # the last flat band's lowest value ('auto', stochastic)

    @classmethod
    def for_fit(cls, estimator, trainer, steps_per_epoch, learning_rate, objective, keep_best):
        """The monitor of one ``fit`` of ``estimator`` (its ``tol`` and patience) with
        ``trainer``'s schedule, ``steps_per_epoch`` batches an epoch and base step
        ``learning_rate``. The learning-rate search builds each of its models'
        monitors here too, so that they stop as separate fits would."""
        w = -(-WINDOW_STEPS // steps_per_epoch)
        return cls(
            estimator.tol,
            estimator.n_iter_no_change,
            plateau_of(trainer.schedule),
            learning_rate,
            keep_best=keep_best,
            objective=objective,
            min_epochs=trainer.schedule.horizon(trainer.context, steps_per_epoch),
            stochastic=steps_per_epoch > 1,
            window=max(1, min(estimator.n_iter_no_change, w)),
            band=max(1, min(3 * estimator.n_iter_no_change, -(-BAND_STEPS // steps_per_epoch))),
        )

    def update(self, value, epoch, weights, lr_scale):
        """Record epoch ``epoch``'s monitored ``value``; return ``(stop, lr_scale)``.

        ``weights`` is a callable returning copies of the current weights,
        called only at a new best epoch.
        """
        self.history.append(value)
        if self.converge_rule:
            bad = not value < self.best  # no new best
        else:  # scikit-learn's test: a bad epoch is above best - tol
            bad = self.tol is not None and value > self.best - self.tol
        self.stall = self.stall + 1 if bad else 0
        if value < self.best:
            self.best, self.best_epoch = value, epoch
            if self.keep_best:
                self.best_weights = weights()

        if self.exact_value:
            return self._auto_stochastic(value, lr_scale)
        if self.auto and (self.tol is None or not self.converge_rule):
            # 'auto' without tol is a constant step; on a validation score (early
            # stopping) it is too, and scikit-learn's rule below stops it.
            return self._stop_rule(value, lr_scale) if self.tol is not None else (False, lr_scale)

        if self.adaptive:
            if self.stall >= self.n_iter_no_change:
                if self.learning_rate * lr_scale > ADAPTIVE_FLOOR:
                    self.stall = 0
                    return False, lr_scale * self.plateau.factor
                return self._stop("plateau"), lr_scale
            return False, lr_scale

        if self.plateau is not None:
            # torch's threshold_mode='rel': better than best * (1 - threshold)
            improved = value < self.plateau_best - self.threshold * abs(self.plateau_best)
            self.plateau_stall = 0 if improved else self.plateau_stall + 1
            self.plateau_best = min(self.plateau_best, value)
            floor = max(self.plateau.min_learning_rate, ADAPTIVE_FLOOR * self.learning_rate)
            can_cut = self.learning_rate * lr_scale > floor
            if self.plateau_stall >= self.patience:
                if (
                    self.stochastic
                    and self._may_stop
                    and (self.best_at_cut - self.best <= self.tol * abs(self.best))
                ):
                    # The last cut brought less than tol (relative): more cuts, each
                    # smaller in effect, would not bring more; stop.
                    return self._stop("plateau"), lr_scale
                self.best_at_cut = self.best
                if can_cut:
                    lr_scale *= self.plateau.factor
                    low = self.plateau.min_learning_rate / self.learning_rate
                    lr_scale = max(lr_scale, low)
                    self.plateau_stall = self.stall = 0
                    self.last_cut = len(self.history)
            if can_cut and (self.stochastic or not self.converge_rule):
                # While the step size can still be cut, a stall cuts it instead of
                # ending training; on stochastic batches the cuts alone decide.
                return False, lr_scale
            if can_cut:
                self.stall = min(self.stall, self.n_iter_no_change - 1)

        return self._stop_rule(value, lr_scale)

    def _stop_rule(self, value, lr_scale):
        """The convergence rule, then the stall rule (after any horizon)."""
        if self.tol is None or len(self.history) < self.min_epochs:
            return False, lr_scale
        if self._converged(value):
            return self._stop("converged"), lr_scale
        if self.stall >= self.n_iter_no_change:
            return self._stop("stall"), lr_scale
        return False, lr_scale

    def _auto_stochastic(self, value, lr_scale):
        """``'auto'`` on stochastic batches, on the objective at the averaged weights.

        A rise of more than ``tol`` over a window is the batches' noise, and a
        band of epochs flat within ``tol`` is where this step size leads: both
        cut the step size. Training stops at a flat band that lies within ``tol``
        of the one before the last cut (a smaller step no longer helps).
        """
        f, w, b = self.history[self.last_cut :], self.window, self.band
        if self.tol is None or len(f) < min(w, b) + 1:
            return False, lr_scale
        tol = self.tol * abs(value)
        band = f[-1 - b :]
        flat = len(f) > b and max(band) - min(band) <= tol
        rise = len(f) > w and f[-1] - f[-1 - w] > tol
        if flat and len(self.history) >= self.min_epochs:
            if self.flat_before is not None and self.flat_before - min(band) <= tol:
                return self._stop("converged"), lr_scale
            self.flat_before = min(band)
        elif not rise:
            return False, lr_scale
        if self.learning_rate * lr_scale <= ADAPTIVE_FLOOR * self.learning_rate:
            return self._stop("plateau"), lr_scale
        self.last_cut = len(self.history) - 1  # the next windows start here
        return False, lr_scale * self.plateau.factor

    @property
    def exact_value(self):
        """Whether this monitor reads the objective at the averaged weights (``'auto'``
        on stochastic batches, on the training objective, with a ``tol`` to decide by)
        rather than the epoch's."""
        return self.auto and self.stochastic and self.converge_rule and self.tol is not None

    @property
    def _may_stop(self):
        """Whether a rule on the training objective may stop training now."""
        return self.converge_rule and self.tol is not None and len(self.history) >= self.min_epochs

    def _converged(self, value):
        """The convergence rule's test on the training objective."""
        return (
            self.converge_rule
            and self.tol is not None
            and len(self.history) >= self.min_epochs
            and self._remaining() <= self.tol * abs(value)
        )

    @property
    def converged_at_end(self):
        """Whether the convergence rule holds at the last epoch (a horizon schedule
        that ran ``max_iter`` epochs may have ended converged)."""
        return bool(self.history) and self._converged(self.history[-1])

    @property
    def stopped_short(self):
        """Stopped by a plateau rule while the training objective still fell at every
        epoch of the last window: a slow descent, not a converged one."""
        w, f = self.n_iter_no_change, self.history
        if not self.objective or self.stop_reason not in ("plateau", "stall") or len(f) <= w:
            return False
        return bool(np.all(np.diff(f[-1 - w :]) < 0))

    def _stop(self, reason):
        self.stop_reason = reason
        return True

    def _remaining(self):
        """The objective's decrease still to come, extrapolated geometrically
        from the last two windows of ``n_iter_no_change`` epochs since the last
        cut (inf when they do not shrink)."""
        w, f = self.n_iter_no_change, self.history
        if len(f) - self.last_cut < 2 * w + 1:  # two windows at one step size
            return np.inf
        recent, before = f[-1 - w] - f[-1], f[-1 - 2 * w] - f[-1 - w]
        if not self.stochastic and not np.all(np.diff(f[-1 - 2 * w :]) < 0):
            # Deterministic steps that raised the objective in the last two windows
            # (an overshoot) do not descend geometrically: nothing to extrapolate.
            return np.inf
        if not 0 < recent < before:
            return np.inf
        ratio = recent / before
        return recent * ratio / (1.0 - ratio)
