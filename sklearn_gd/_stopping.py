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
  ``tol`` of the band before the cut: a smaller step no longer helps. A cut
  from a flat band whose next band lies more than ``tol`` lower showed that the
  step held the objective up: the step is cut again at once, without waiting
  for a flat band at each size (on 10^5 rows, one epoch a cut instead of two),
  and training stops as soon as what further cuts would bring, extrapolated
  geometrically from the last two cuts' gains, is at most ``tol``. Windows
  and bands are counted in epochs of at least ``WINDOW_STEPS`` and
  ``BAND_STEPS`` optimizer steps, so that a large dataset decides
  after an epoch and a small one sees its batches' noise (an epoch of
  ``WINDOW_STEPS`` steps over ``EPOCH_ROWS`` rows decides on its own). On deterministic
  steps ``'auto'`` is a constant step that the convergence rule stops; it cuts
  only after ``patience`` epochs without a new best (an overshoot).
- **'auto' with early stopping on stochastic batches**: at a constant step the
  weights wander, and on a small validation split so does the score: the best
  epoch was a lucky early one (digits: restored weights 0.5 points below the
  last). A stall (scikit-learn's test, ``n_iter_no_change`` epochs) cuts the
  step by ``factor`` instead of stopping, and training stops at a stall whose
  level (the mean of its epochs, not its luckiest one) is not ``tol`` below
  the level of the stall before: a smaller step no longer helps.

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
# of a large dataset, several of a small one, whose few batches are noisy. An
# epoch of WINDOW_STEPS steps over EPOCH_ROWS rows or more (100 batches of 256)
# is a band of its own: the objective at its averaged weights is steady enough.
# (Bands of BAND_STEPS there too doubled the epochs of 30,000-row problems, 118 to
# 196 steps an epoch, for gaps to the optimum of 2e-4 instead of 3e-4 to 9e-4:
# benchmarks/DEFAULTS.md. Bands of 100 steps on small datasets stopped digits 1.7%
# above its optimum, against 0.8%, and one-epoch bands of per-sample sgd steps on
# iris and wine, 150 and 178 steps, 2-5% above, against 1.3-2.3%.)
WINDOW_STEPS = 100
BAND_STEPS = 300
EPOCH_ROWS = 25_600


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
        self.cut_from = None  # the level the last cut left, until a band has followed it
        self.gains = []  # what each cut that helped lowered the level by
        self.level_at_cut = np.inf  # the mean validation value of the stall that cut

    @classmethod
    def for_fit(cls, estimator, trainer, n_samples, learning_rate, objective, keep_best):
        """The monitor of one ``fit`` of ``estimator`` (its ``tol`` and patience) with
        ``trainer``'s schedule and batches, on ``n_samples`` rows, from the base step
        ``learning_rate``. The learning-rate search builds each of its models'
        monitors here too, so that they stop as separate fits would."""
        steps_per_epoch = trainer.steps_per_epoch(n_samples)
        w = -(-WINDOW_STEPS // steps_per_epoch)
        one = w == 1 and n_samples >= EPOCH_ROWS  # an epoch decides on its own
        band = 1 if one else -(-BAND_STEPS // steps_per_epoch)
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
            band=min(3 * estimator.n_iter_no_change, band),
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
        if self.auto and self.stochastic and not self.converge_rule and self.tol is not None:
            return self._auto_validation(lr_scale)
        if self.auto and (self.tol is None or not self.converge_rule):
            # 'auto' without tol is a constant step; on a validation score (early
            # stopping) with full batches it is too, and scikit-learn's rule stops it.
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
        cut the step size. A band after a cut that lies more than ``tol`` below
        the level the cut left shows that the step held the objective up: it is
        cut again at once. Training stops when a cut no longer lowers the level
        by ``tol``, or when what further cuts would bring, extrapolated from the
        gains of the last two (geometric, as for the convergence rule), is at
        most ``tol`` (all relative to the objective).
        """
        f, w, b = self.history[self.last_cut :], self.window, self.band
        if self.tol is None or len(f) < min(w, b) + 1:
            return False, lr_scale
        tol = self.tol * abs(value)
        band = f[-1 - b :]
        if self.cut_from is not None and len(f) > b:  # the last cut left a settled level
            gain = self.cut_from - min(f[-b:])  # the band after the cut, against before it
            self.cut_from = None
            if gain > tol and len(self.history) >= self.min_epochs:
                self.gains.append(gain)
                if self._remaining_gain() <= tol:
                    return self._stop("converged"), lr_scale
                self.flat_before = min(f[-b:])  # taken as settled: the next cut is judged on it
                return self._cut(lr_scale, self.flat_before)
        flat = len(f) > b and max(band) - min(band) <= tol
        rise = len(f) > w and f[-1] - f[-1 - w] > tol
        if flat and len(self.history) >= self.min_epochs:
            if self.flat_before is not None and self.flat_before - min(band) <= tol:
                return self._stop("converged"), lr_scale
            self.flat_before = min(band)
            return self._cut(lr_scale, min(band))
        if not rise:
            return False, lr_scale
        return self._cut(lr_scale, None)  # no level: the band was noise, not settled

    def _auto_validation(self, lr_scale):
        """``'auto'`` on stochastic batches with early stopping: a stall of the
        validation score (scikit-learn's test) cuts the step size, so that the
        weights settle instead of wandering at a constant step. A stall is judged
        by its level, the mean of its epochs (a small validation set makes single
        epochs noisy, and the best of them lucky): training stops at a stall whose
        level is not ``tol`` below that of the stall before (a smaller step no
        longer helps)."""
        if self.stall < self.n_iter_no_change:
            return False, lr_scale
        level = float(np.mean(self.history[-1 - self.n_iter_no_change :]))
        if self.level_at_cut - level <= self.tol:
            return self._stop("stall"), lr_scale
        self.level_at_cut, self.stall = level, 0
        return self._cut(lr_scale, None)

    def _cut(self, lr_scale, level):
        """Cut the step size by the schedule's factor from ``level`` (the best value of
        the band it leaves), or stop at the floor."""
        if self.learning_rate * lr_scale <= ADAPTIVE_FLOOR * self.learning_rate:
            return self._stop("plateau"), lr_scale
        self.last_cut = len(self.history) - 1  # the next windows start here
        self.cut_from = level
        return False, lr_scale * self.plateau.factor

    def _remaining_gain(self):
        """What further cuts would lower the level by, extrapolated geometrically from
        the gains of the last two cuts (inf with fewer, or when they do not shrink)."""
        return _geometric_tail(*self.gains[-2:][::-1]) if len(self.gains) >= 2 else np.inf

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
        return _geometric_tail(recent, before)


def _geometric_tail(recent, before):
    """What is still to come of a decrease whose last two steps were ``before`` then
    ``recent``, were it geometric: ``recent * r / (1 - r)`` with ``r = recent / before``
    (inf when they do not shrink)."""
    if not 0 < recent < before:
        return np.inf
    ratio = recent / before
    return recent * ratio / (1.0 - ratio)


# --- divergence ----------------------------------------------------------------
#
# A step too large for the curvature makes the objective grow geometrically. That
# raises once something becomes non-finite, but the stopping rules can end the run
# first: no new best for n_iter_no_change epochs ("stall"), or 'adaptive' /
# 'plateau' cutting the step to their floor while the objective sits far above
# where it started (a huge first step of RMSProp or AdaGrad can also freeze the
# weights far off). Those runs end finite and wrong: they are judged by level.
#
# The reference is the larger of the objective at the start weights, f(w0), and of
# the best constant model, f(c) (coefficients 0, the intercept at the loss's
# baseline: init='baseline''s start); both are finite and known before the first
# step. The objective is convex: a method whose steps suit the problem decreases
# it, up to the transient overshoot of momentum and of the first steps of the
# scale-free rules, and the noise of stochastic batches. Measured on every bundled
# dataset, sane fits stay below DIVERGENCE_FACTOR times the reference (see
# tests/test_divergence.py). f(c) keeps the ceiling off the floor when the start is
# already near the optimum (fine-tuning from coef_init or a warm start, where
# Adam's first steps overshoot the start hundredfold). A reference of 0 (the
# perceptron from zero weights, whose objective has no scale) gives no ceiling:
# only non-finite values count there.
#
# Far above is not enough: it must also not be coming down. A decaying schedule
# whose early steps are too large for the data (scikit-learn's 'optimal' on
# unscaled features starts 25 000 times above the hinge's constant model, then
# falls as 1/t) or a plateau schedule that cuts an overshoot back falls, slowly,
# from far above; a run-away rises, and a run whose optimizer state froze it stays
# flat. Coming down is judged over the second half of the run above the ceiling (a
# window that grows with it, so that a 1/t decay, which halves from epoch t/2 to
# t, always counts). So a run has diverged when its objective
# - has been above the ceiling for `patience` epochs in a row, and is not below
#   DIVERGENCE_DECREASE times its value half that run before, or
# - ends (the objective at its final weights) above the ceiling, and not below that
#   fraction of its value half its run before: a run-away that a stopping rule, or
#   max_iter, ended before it overflowed; or
# - ends above the ceiling, flat over its last FLAT_EPOCHS epochs though its step is
#   still a real one: frozen. A first step can throw the weights so far out that
#   the objective falls for a long time, then freezes far above the ceiling:
#   Poisson's intercept thrown to -1e138, where exp(raw) = 0 and only the L2 penalty
#   pulls the coefficients back, ends at 1e138 (its step at half the learning
#   rate), while over the second half of its run it still came down by a factor of
#   1e50. A slow descent on stochastic batches is not flat: its epochs differ by
#   percents. A run whose schedule cut its step to a sliver ('adaptive' and
#   ReduceOnPlateau to 1e-6 of it, the end of a cosine) is flat by design: an
#   overshoot that such cuts brought back down ends above the ceiling with models
#   of 87-98% training accuracy on unscaled wine and digits.

#: An epoch whose objective exceeds this multiple of the reference is above the ceiling.
DIVERGENCE_FACTOR = 10.0
#: Above the ceiling, an objective not below this fraction of its value half its run
#: earlier is not coming down.
DIVERGENCE_DECREASE = 0.9
#: A run that ends above the ceiling with its last FLAT_EPOCHS objectives within
#: FLAT_SPREAD (relative) of each other, while its step is still at least FLAT_STEP
#: times the learning rate, is frozen there.
FLAT_EPOCHS = 5
FLAT_SPREAD = 1e-4
FLAT_STEP = 1e-2


class DivergenceCheck:
    """The divergence rule of one fit, or of many models trained side by side.

    Everything is elementwise: ``start`` and ``constant`` may be scalars (one
    model) or vectors (one entry per model, e.g. the models of a search, trained
    as the rows of one ``theta``); ``update`` and ``end`` then take the objectives
    of all models, or of the ``models`` (indices) given. Attributes are vectors.

    Parameters
    ----------
    start : float or ndarray
        The training objective at the weights training starts from.
    constant : float, ndarray or callable
        The training objective of the best constant model (the loss's baseline), or
        (one model) a function that computes it, called only once an objective
        rises above ``DIVERGENCE_FACTOR * start``: below, the ceiling cannot be
        reached whatever the constant's value, and most fits never need that pass.
    patience : int
        Epochs in a row above the ceiling, not coming down, that make a divergence
        during training.
    schedule : Schedule, default=None
        The schedule of the steps: with ``schedule.finite_runaway`` False there is
        no ceiling (only non-finite values, which the ``Trainer`` checks, count).

    Attributes
    ----------
    reference, ceiling : ndarray
        ``max(start, constant)`` and the value above which an objective counts
        (``DIVERGENCE_FACTOR`` times the reference; inf where it is not positive).
    """

    def __init__(self, start, constant, patience, schedule=None):
        self.start = np.ravel(np.asarray(start, dtype=float))
        self._constant = constant
        self.factor = (DIVERGENCE_FACTOR if getattr(schedule, "finite_runaway", True)
                       else np.inf)  # fmt: skip
        self.patience = patience
        self.epoch = 0
        n = self.start.size
        self.onset = np.zeros(n, dtype=np.intp)  # first epoch of the run above; 0: none
        self.run = np.zeros(n, dtype=np.intp)  # objectives in a row above the ceiling
        self.value = np.full(n, np.nan)  # the last objective above the ceiling
        self._seen = np.zeros(n, dtype=np.intp)
        self._history = np.empty((2 * patience, n))  # objectives above, grown as needed
        self._pending = False  # some run above the ceiling
        self._ceiling = None
        if callable(constant):
            # Below factor * start an objective is below the ceiling, whatever the constant.
            start = float(self.start[0])
            self._single = self.factor * start if start > 0 else -np.inf
        else:
            self._single = float(self.ceiling[0]) if n == 1 else None

    @property
    def reference(self):
        if callable(self._constant):
            self._constant = self._constant()
        constant = np.ravel(np.asarray(self._constant, dtype=float))
        return np.fmax(*np.broadcast_arrays(self.start, constant))  # a NaN never wins

    @property
    def ceiling(self):
        if self._ceiling is None:
            reference = self.reference
            self._ceiling = np.where(reference > 0, self.factor * reference, np.inf)
        return self._ceiling

    def _observe(self, objective, models):
        """Record ``objective``; return where it is above the ceiling, and where it is
        above and not coming down: not below ``DIVERGENCE_DECREASE`` times its value
        half its run before."""
        if self._single is not None and not self._pending and objective <= self._single:
            below = np.zeros(1, dtype=bool)  # one fit's usual epoch, in pure Python
            return below, below
        at = slice(None) if models is None else np.ravel(models)
        value = np.ravel(np.asarray(objective, dtype=float))
        above = ~(value <= self.ceiling[at])  # NaN counts as above
        if not above.any():  # the usual epoch: a few operations, no history
            if self._pending:
                self.run[at], self.onset[at] = 0, 0
                self._pending = bool(self.run.any())
            return above, above
        self._pending = True
        at = np.arange(self.start.size)[at]
        self.onset[at] = np.where(above, np.where(self.onset[at] > 0, self.onset[at],
                                                  max(self.epoch, 1)), 0)  # fmt: skip
        self.run[at] = np.where(above, self.run[at] + 1, 0)
        # Only objectives above the ceiling are kept: a run's are consecutive.
        seen = self._seen[at]
        if seen.max() >= len(self._history):
            self._history = np.concatenate([self._history, np.empty_like(self._history)])
        back = self.run[at] // 2  # within the run: back <= run - 1
        before = np.where(back > 0, self._history[seen - back, at], value)
        self._history[seen, at] = value
        self._seen[at] = seen + above
        self.value[at] = value
        return above, above & ~(value < DIVERGENCE_DECREASE * before)

    def update(self, objective, models=None):
        """Record an epoch's objective; True where the run has diverged: ``patience``
        epochs in a row above the ceiling, not coming down."""
        self.epoch += 1
        rising = self._observe(objective, models)[1]
        at = slice(None) if models is None else np.ravel(models)
        return rising & (self.run[at] >= self.patience)

    def end(self, objective, models=None, step_fraction=1.0):
        """Record the objective at the final weights; True where it is above the
        ceiling and not coming down: over the second half of its run, or, where the
        run was still stepping (``step_fraction``, its last step over its base
        learning rate, one for all or one per model, at least ``FLAT_STEP``), flat
        over its last ``FLAT_EPOCHS`` values (within ``FLAT_SPREAD`` of each other)."""
        above, rising = self._observe(objective, models)
        at = np.arange(self.start.size)[slice(None) if models is None else np.ravel(models)]
        stepping = np.asarray(step_fraction) >= FLAT_STEP
        judged = np.flatnonzero(above & stepping & (self.run[at] >= FLAT_EPOCHS))
        if judged.size:  # their last FLAT_EPOCHS values are all in the history
            last = self._seen[at[judged]] - 1
            window = self._history[last - np.arange(FLAT_EPOCHS)[:, None], at[judged]]
            spread = window.max(axis=0) - window.min(axis=0)
            rising[judged] |= spread <= FLAT_SPREAD * np.abs(window[0])
        return rising
