"""Step-size schedules: the step size as a pure function of the step count.

``rates(learning_rate, t, epoch, context)`` returns the step sizes of a run of
steps at once: ``t`` holds their 1-based optimizer step counts and ``epoch``
their position in epochs (0-based, fractional within an epoch, so that a
per-epoch schedule can also be smooth). ``context`` carries what a few
schedules need from the estimator (``max_iter``, ``alpha`` and the loss).

Reductions on a plateau (``Adaptive``, ``ReduceOnPlateau``) are epoch-level
decisions taken by the monitor in ``_stopping.py``; here they are constant.

To add a schedule: a class with ``rates`` and one line in ``SCHEDULES``.
"""

from collections import namedtuple
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator

from ._compat import Interval

ScheduleContext = namedtuple("ScheduleContext", ["max_iter", "alpha", "loss"])


class Schedule(BaseEstimator):
    """Base class for step-size schedules: subclass it to write your own.

    A schedule is a pure function of the step count: :meth:`rates` returns the
    step sizes of a run of steps at once. It holds only hyperparameters
    (``get_params`` and ``set_params`` come from scikit-learn's
    ``BaseEstimator``, so ``clone`` and grid keys such as
    ``schedule__gamma`` work). Reductions on a plateau are decided by the
    estimator, epoch by epoch (see :class:`ReduceOnPlateau`).

    See Also
    --------
    Constant : The simplest subclass.
    Warmup : A schedule that wraps another.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gd.schedules import StepDecay
    >>> StepDecay(step_size=2, gamma=0.5).rates(1.0, np.arange(1, 5), np.arange(4), None)
    array([1. , 1. , 0.5, 0.5])
    """

    _parameter_constraints = {}

    #: Whether a finite objective far above the start that is not coming down is a
    #: divergence (``DivergenceCheck``); non-finite values always are.
    finite_runaway = True

    def rates(self, learning_rate, t, epoch, context):
        """Step sizes for the steps ``t`` at (fractional) epochs ``epoch``.

        Parameters
        ----------
        learning_rate : float
            The estimator's base step size.
        t : ndarray of shape (n_steps,)
            The 1-based optimizer step counts of the steps.
        epoch : ndarray of shape (n_steps,)
            Their position in epochs: 0-based, fractional within an epoch.
        context : ScheduleContext
            What a few schedules need from the estimator: ``max_iter``,
            ``alpha`` and the loss object.

        Returns
        -------
        rates : ndarray of shape (n_steps,)
            The step size of each step.
        """
        raise NotImplementedError

    def horizon(self, context, steps_per_epoch):
        """Return the epochs the schedule must run before ``tol`` may stop training.

        A schedule that anneals over a budget (:class:`CosineAnnealing`, the ramp
        of :class:`Warmup`) returns that budget, so that the stopping rule does
        not cut the descent off before the step size has reached its end; every
        other schedule returns 0 (``tol`` may stop training at any epoch).
        ``max_iter`` still bounds the epochs.

        Parameters
        ----------
        context : ScheduleContext
            What a few schedules need from the estimator: ``max_iter``,
            ``alpha`` and the loss object.
        steps_per_epoch : int
            The optimizer steps of one epoch (to convert a budget in steps).

        Returns
        -------
        horizon : int
            The number of epochs, >= 0.
        """
        return 0


class Constant(Schedule):
    """The same step size at every step: ``lr_t = learning_rate``.

    The schedule of plain gradient descent. With mini-batches, a constant
    step keeps bouncing in the noise of the batches around the optimum; a
    decaying schedule or iterate averaging (``average``) removes that noise.

    See Also
    --------
    Adaptive : Constant until the objective stalls, then cut.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_gd import GDClassifier
    >>> from sklearn_gd.schedules import Constant
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = scale(X)
    >>> clf = GDClassifier(schedule=Constant(), random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.95
    True
    """

    def rates(self, learning_rate, t, epoch, context):
        return np.full(len(t), float(learning_rate))


class Optimal(Schedule):
    """Bottou's rule as scikit-learn computes it: ``1 / (alpha * (t0 + t - 1))``.

    ``t0`` follows scikit-learn's heuristic (``_sgd_fast.pyx.tp``): the first
    step is ``typw / max(1, loss'(y=1, -typw))`` with ``typw = sqrt(1 / sqrt(alpha))``
    and the *signed* derivative, which is negative for every loss (the
    prediction is below the target), so the first step is ``alpha ** -0.25``.
    ``learning_rate`` is ignored, as in scikit-learn; ``alpha`` must be > 0.
    Meant for plain per-sample SGD, as ``SGDClassifier(learning_rate='optimal')``.

    See Also
    --------
    InvScaling : ``learning_rate / t**power_t``.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_gd import GDClassifier
    >>> from sklearn_gd.schedules import Optimal
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = scale(X)
    >>> clf = GDClassifier(schedule=Optimal(), optimizer='sgd', batch_size=1, max_iter=5, tol=None,
    ...                    random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.95
    True
    """

    # Its steps start at alpha ** -0.25 and shrink as 1 / (alpha * t): the weights
    # are an average of the losses' gradients over alpha (bounded for the
    # classifiers' Lipschitz losses), far from the start early by design. Per-sample
    # on 12 rows, hinge stays 10-24x its start for 11 epochs and falls below 5x by
    # epoch 60, as scikit-learn's does. A real run-away (squared loss) overflows.
    finite_runaway = False

    def rates(self, learning_rate, t, epoch, context):
        alpha = context.alpha
        if not alpha > 0:
            raise ValueError(
                "schedule='optimal' needs alpha > 0 (its step size is "
                f"1 / (alpha * (t0 + t))); got alpha={alpha}."
            )
        typw = np.sqrt(1.0 / np.sqrt(alpha))
        slope = context.loss.gradient(np.ones((1, 1)), np.full((1, 1), -typw))
        eta0 = typw / max(1.0, float(slope[0, 0]))
        t0 = 1.0 / (eta0 * alpha)
        return 1.0 / (alpha * (t0 + np.asarray(t, dtype=float) - 1.0))


class InvScaling(Schedule):
    """``learning_rate / t**power_t``, ``t`` the 1-based step count (scikit-learn's).

    ``t`` counts optimizer steps (one per batch), across epochs and across
    ``partial_fit`` calls, so that the decay does not restart with each epoch.

    Parameters
    ----------
    power_t : float, default=0.5
        The decay exponent, >= 0; 0.5 is the classic Robbins-Monro rate for
        SGD, 1 decays faster.

    See Also
    --------
    Optimal : The default schedule of scikit-learn's per-sample SGD.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_gd import GDClassifier
    >>> from sklearn_gd.schedules import InvScaling
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = scale(X)
    >>> clf = GDClassifier(schedule=InvScaling(power_t=0.5), random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.95
    True
    """

    _parameter_constraints = {"power_t": [Interval(Real, 0, None, closed="left")]}

    def __init__(self, power_t=0.5):
        self.power_t = power_t

    def rates(self, learning_rate, t, epoch, context):
        return learning_rate / np.asarray(t, dtype=float) ** self.power_t


class StepDecay(Schedule):
    """Multiply the step size by ``gamma`` every ``step_size`` epochs.

    ``lr = learning_rate * gamma ** (e // step_size)`` in epoch ``e`` (0-based):
    ``torch.optim.lr_scheduler.StepLR`` stepped once per epoch.

    Parameters
    ----------
    step_size : int, default=10
        Number of epochs between two cuts, >= 1.
    gamma : float, default=0.5
        Factor of each cut, in (0, 1].

    See Also
    --------
    ExponentialDecay : A cut every epoch.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_gd import GDClassifier
    >>> from sklearn_gd.schedules import StepDecay
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = scale(X)
    >>> clf = GDClassifier(schedule=StepDecay(step_size=10, gamma=0.5), random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.95
    True
    """

    _parameter_constraints = {
        "step_size": [Interval(Integral, 1, None, closed="left")],
        "gamma": [Interval(Real, 0, 1, closed="right")],
    }

    def __init__(self, step_size=10, gamma=0.5):
        self.step_size = step_size
        self.gamma = gamma

    def rates(self, learning_rate, t, epoch, context):
        return learning_rate * self.gamma ** (np.floor(epoch) // self.step_size)


class ExponentialDecay(Schedule):
    """Multiply the step size by ``gamma`` every epoch.

    ``lr = learning_rate * gamma ** e`` in epoch ``e`` (0-based):
    ``torch.optim.lr_scheduler.ExponentialLR`` stepped once per epoch.

    Parameters
    ----------
    gamma : float, default=0.95
        Factor applied each epoch, in (0, 1]; 0.95 halves the step in about
        14 epochs.

    See Also
    --------
    StepDecay : A cut every ``step_size`` epochs.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_gd import GDClassifier
    >>> from sklearn_gd.schedules import ExponentialDecay
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = scale(X)
    >>> clf = GDClassifier(schedule=ExponentialDecay(gamma=0.95), random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.95
    True
    """

    _parameter_constraints = {"gamma": [Interval(Real, 0, 1, closed="right")]}

    def __init__(self, gamma=0.95):
        self.gamma = gamma

    def rates(self, learning_rate, t, epoch, context):
        return learning_rate * self.gamma ** np.floor(epoch)


class CosineAnnealing(Schedule):
    """Cosine decay from ``learning_rate`` to ``min_learning_rate`` over ``t_max`` epochs.

    ``lr = min + (lr0 - min) * (1 + cos(pi * e / t_max)) / 2`` at fractional
    epoch ``e`` (Loshchilov & Hutter 2017, without restarts). At the start of
    each epoch this is ``torch.optim.lr_scheduler.CosineAnnealingLR(T_max=t_max,
    eta_min=min_learning_rate)`` stepped once per epoch; within an epoch it
    goes on smoothly, as torch's stepped once per batch with ``T_max`` in
    batches. After ``t_max`` epochs the step size stays at ``min_learning_rate``
    (torch's closed form would rise again).

    The horizon is a budget: ``tol`` does not stop training before ``t_max``
    epochs have run, so that the step size is annealed to its end rather than
    cut off at 90% of its start (then ``tol`` may stop it at its floor). With
    ``t_max=None`` the horizon is the fit's ``max_iter``: set ``max_iter`` to the
    number of epochs to anneal over. In ``partial_fit`` each call is one epoch.

    Parameters
    ----------
    t_max : int or None, default=None
        Length of the decay in epochs; None means the estimator's ``max_iter``.
    min_learning_rate : float, default=0.0
        The step size reached at ``t_max`` and kept after it, >= 0.

    See Also
    --------
    Warmup : A linear warm-up in front of a schedule.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_gd import GDClassifier
    >>> from sklearn_gd.schedules import CosineAnnealing
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = scale(X)
    >>> clf = GDClassifier(schedule=CosineAnnealing(t_max=50), random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.95
    True
    """

    _parameter_constraints = {
        "t_max": [Interval(Integral, 1, None, closed="left"), None],
        "min_learning_rate": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, t_max=None, min_learning_rate=0.0):
        self.t_max = t_max
        self.min_learning_rate = min_learning_rate

    def rates(self, learning_rate, t, epoch, context):
        t_max = self.horizon(context, None)
        progress = np.minimum(np.asarray(epoch, dtype=float) / t_max, 1.0)
        low = self.min_learning_rate
        return low + (learning_rate - low) * 0.5 * (1.0 + np.cos(np.pi * progress))

    def horizon(self, context, steps_per_epoch):
        return self.t_max if self.t_max is not None else context.max_iter


class ReduceOnPlateau(Constant):
    """Constant step size, cut by ``factor`` when the monitored value stalls.

    After ``patience`` epochs in which the monitored value (training loss, or
    validation score with early stopping) does not improve on its best by more
    than ``threshold`` times its magnitude (torch's ``ReduceLROnPlateau`` with
    ``threshold_mode='rel'``), the step size is multiplied by ``factor``, never
    below ``min_learning_rate``. While the step size can still be cut, a stall
    cuts it instead of stopping training; on the training objective, a stall
    right after a cut that improved the best value by at most ``tol``
    (relative) ends training.

    Parameters
    ----------
    factor : float, default=0.1
        Factor of each cut, in (0, 1).
    patience : int or None, default=10
        Epochs without improvement before a cut, >= 1 (None: the estimator's
        ``n_iter_no_change``).
    threshold : float or None, default=1e-4
        The improvement that counts, >= 0 (None: the estimator's ``tol``).
    min_learning_rate : float, default=0.0
        The step size is never cut below this value.

    See Also
    --------
    Adaptive : The scikit-learn variant, tied to ``tol`` and ``n_iter_no_change``.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_gd import GDClassifier
    >>> from sklearn_gd.schedules import ReduceOnPlateau
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = scale(X)
    >>> clf = GDClassifier(schedule=ReduceOnPlateau(factor=0.5, patience=3), random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.95
    True
    """

    _parameter_constraints = {
        "factor": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "threshold": [Interval(Real, 0, None, closed="left"), None],
        "min_learning_rate": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, factor=0.1, patience=10, threshold=1e-4, min_learning_rate=0.0):
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.min_learning_rate = min_learning_rate


class Adaptive(ReduceOnPlateau):
    """The ``'adaptive'`` schedule of scikit-learn: cut the step size when training stalls.

    Exactly scikit-learn's SGD (``_sgd_fast.pyx.tp``): an epoch is bad when the
    monitored value (training objective, or minus the validation score) is
    above ``best - tol``, ``best`` the lowest value so far and ``tol``
    absolute. After ``n_iter_no_change`` bad epochs in a row, if the step size
    is still above 1e-6 it is multiplied by ``factor`` and the count starts
    again (``best`` is kept), so the last cut may go below 1e-6 (e.g. 5.12e-7
    from 0.01); otherwise training stops. With ``tol=None`` nothing is counted:
    no cut and no stop. This absolute rule is scikit-learn's, not the
    convergence rule of the other schedules (see ``tol``).

    Parameters
    ----------
    factor : float, default=0.2
        Factor of each cut, in (0, 1); scikit-learn's divides by 5.

    See Also
    --------
    ReduceOnPlateau : The same idea with its own patience and threshold.

    Notes
    -----
    As in scikit-learn, a stall is measured against the best value so far.
    Momentum makes the loss rise for a few epochs after an overshoot, so with
    ``'momentum'`` or ``'nesterov'`` on full batches the cuts can compound and
    stall training short of the optimum (3% above it on a 10^5 x 100 logistic
    regression); use ``'constant'`` there: the step bound keeps it safe.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_gd import GDClassifier
    >>> from sklearn_gd.schedules import Adaptive
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = scale(X)
    >>> clf = GDClassifier(schedule=Adaptive(factor=0.2), random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.95
    True
    """

    _parameter_constraints = {"factor": [Interval(Real, 0, 1, closed="neither")]}

    def __init__(self, factor=0.2):
        super().__init__(factor=factor, patience=None, threshold=None, min_learning_rate=1e-6)


class Auto(ReduceOnPlateau):
    """The default schedule: a constant step, cut where the objective asks for it.

    ``'auto'`` adapts to the batches. On deterministic steps (each batch is the
    whole data) it is a constant step, which full-batch Adam follows to the
    optimum at a linear rate; the step is cut by ``factor`` only after
    ``patience`` epochs without a new best (an overshoot), and ``tol`` stops
    training when the objective's remaining decrease, extrapolated from its
    last epochs, is below ``tol`` times the objective. On stochastic batches a
    constant step leaves the weights at a distance from the optimum that
    shrinks with the step: the estimator watches the objective at its averaged
    weights and cuts the step by ``factor`` when it rises by more than ``tol``
    (relative) or stays flat within ``tol``, and again at once while each cut
    lowers it by more than ``tol``; training stops when a cut no longer lowers
    it by ``tol``, or when the gains of further cuts, extrapolated from the
    last two, are at most ``tol``. With early stopping on stochastic batches
    the validation score decides: a stall of ``n_iter_no_change`` epochs cuts
    the step (the weights settle, so the best epoch is not a lucky early one),
    and training stops at a stall whose mean is not ``tol`` below the stall
    before. With ``tol=None`` the step is constant. In ``partial_fit`` (one
    epoch per call) it is a constant step.

    Measured with the defaults (``benchmarks/DEFAULTS.md``): full batches end
    within 1e-4 of the exact optimum's objective and mini-batches within 1e-2 on
    breast cancer, iris, wine, digits, diabetes and linnerud (standardized).

    Parameters
    ----------
    factor : float, default=0.5
        Factor of each cut, in (0, 1).
    patience : int, default=10
        Deterministic steps: epochs without a new best before a cut, >= 1.

    See Also
    --------
    Adaptive : The scikit-learn schedule, with an absolute ``tol``.
    ReduceOnPlateau : Cuts on a plateau, torch's rule.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_gd import GDClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = scale(X)
    >>> clf = GDClassifier(schedule="auto", batch_size="full", random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.95
    True
    """

    _parameter_constraints = {
        "factor": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, factor=0.5, patience=10):
        super().__init__(factor=factor, patience=patience, threshold=0.0, min_learning_rate=0.0)


class Warmup(Schedule):
    """Linear warm-up over ``warmup_steps`` optimizer steps, then ``schedule``.

    The step size at step ``t`` is ``schedule(t) * min(1, t / warmup_steps)``:
    small steps while the optimizer's moment estimates are still poor (Adam
    divides by a second moment built from few gradients), then the wrapped
    schedule. Nested parameters are reachable as ``schedule__schedule__...``.

    ``tol`` does not stop training during the ramp (nor before the wrapped
    schedule's own horizon, e.g. :class:`CosineAnnealing`'s ``t_max``).

    Parameters
    ----------
    schedule : Schedule or str, default='constant'
        The schedule followed after (and scaled during) the warm-up: a name
        accepted by the estimators' ``schedule`` or a schedule object.
    warmup_steps : int, default=100
        Number of optimizer steps (not epochs) of the linear ramp, >= 1.

    See Also
    --------
    CosineAnnealing : A common schedule to follow the warm-up.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_gd import GDClassifier
    >>> from sklearn_gd.schedules import CosineAnnealing, Warmup
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = scale(X)
    >>> clf = GDClassifier(schedule=Warmup(CosineAnnealing(), warmup_steps=50), random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.95
    True
    """

    _parameter_constraints = {"warmup_steps": [Interval(Integral, 1, None, closed="left")]}

    @property
    def finite_runaway(self):
        """As the wrapped schedule's: the warm-up only scales its steps down."""
        return resolve_schedule(self.schedule).finite_runaway

    def __init__(self, schedule="constant", warmup_steps=100):
        self.schedule = schedule
        self.warmup_steps = warmup_steps

    def _validate_params(self):
        """Validate ``warmup_steps`` and the wrapped schedule, by its own constraints."""
        super()._validate_params()
        if isinstance(self.schedule, Schedule):
            self.schedule._validate_params()
        elif not (isinstance(self.schedule, str) and self.schedule in SCHEDULES):
            error = ValueError if isinstance(self.schedule, str) else TypeError
            raise error(
                f"The 'schedule' parameter of Warmup must be a str among {sorted(SCHEDULES)} "
                f"or an instance of Schedule. Got {self.schedule!r} instead."
            )

    def rates(self, learning_rate, t, epoch, context):
        inner = resolve_schedule(self.schedule).rates(learning_rate, t, epoch, context)
        return inner * np.minimum(1.0, np.asarray(t, dtype=float) / self.warmup_steps)

    def horizon(self, context, steps_per_epoch):
        # The warm-up's epochs, or the wrapped schedule's horizon if longer: ``tol``
        # does not stop training while the step size is still rising.
        inner = resolve_schedule(self.schedule).horizon(context, steps_per_epoch)
        return max(-(-self.warmup_steps // max(1, steps_per_epoch)), inner)


SCHEDULES = {
    "constant": Constant,
    "optimal": Optimal,
    "invscaling": InvScaling,
    "adaptive": Adaptive,
    "step": StepDecay,
    "exponential": ExponentialDecay,
    "cosine": CosineAnnealing,
    "plateau": ReduceOnPlateau,
    "auto": Auto,
}


def resolve_schedule(schedule):
    """A schedule object for a name or an object (returned as is)."""
    if isinstance(schedule, str):
        return SCHEDULES[schedule]()
    return schedule


def plateau_of(schedule):
    """The plateau-reducing schedule inside ``schedule`` (through Warmup), or None."""
    while isinstance(schedule, Warmup):
        schedule = resolve_schedule(schedule.schedule)
    return schedule if isinstance(schedule, ReduceOnPlateau) else None
