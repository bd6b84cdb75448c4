"""The learning-rate range test (Smith 2017): grow the step size, watch the loss."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_scalar

from ._base import BaseGD, auto_batch_size
from ._engine import DivergenceError
from ._plotting import import_pyplot
from .schedules import Schedule

# After each step the objective is measured on one fixed sample of at most
# this many rows: each batch's own loss varies from batch to batch by more
# than a step changes it (on regression data especially), and that noise, not
# the step size, decided the suggestion.
EVAL_ROWS = 1024


class _RangeTest(Schedule):
    """Step ``t`` (1-based) gets ``low * (high / low) ** ((t - 1) / (n_steps - 1))``."""

    def __init__(self, low=1e-6, high=10.0, n_steps=200):
        self.low = low
        self.high = high
        self.n_steps = n_steps

    def rates(self, learning_rate, t, epoch, context):
        fraction = (np.asarray(t, dtype=float) - 1) / max(self.n_steps - 1, 1)
        return self.low * (self.high / self.low) ** fraction


class LearningRateFinderResult:
    """What :func:`find_learning_rate` measured.

    Returned by :func:`find_learning_rate`, not made by hand; each parameter is
    stored as the attribute of the same name.

    Parameters
    ----------
    learning_rates : ndarray
        The step size of each step taken.
    losses : ndarray
        The training objective after each step, on one fixed sample of the
        rows (all of them up to 1024).
    smoothed_losses : ndarray
        ``losses`` under an exponential moving average (bias-corrected).
    suggestion : float
        Where the smoothed loss falls fastest per unit of ``log(learning_rate)``,
        before its minimum: large enough to learn fast, below where it blows up.
        On the datasets bundled with scikit-learn (standardized features, ``y``
        in its own units or standardized), training at the suggestion scored
        never more than 0.003 below the default ``learning_rate`` on the
        training data, nor more than 0.01 below it in 5-fold cross-validation.
    stopped_early : bool
        Whether the loss exploded (or diverged) before the last step.

    See Also
    --------
    find_learning_rate : The function that returns it.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_gd import GDClassifier, find_learning_rate
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> result = find_learning_rate(GDClassifier(), scale(X), y, random_state=0)
    >>> len(result.learning_rates) == len(result.losses)
    True
    """

    def __init__(self, learning_rates, losses, smoothed_losses, suggestion, stopped_early):
        self.learning_rates = learning_rates
        self.losses = losses
        self.smoothed_losses = smoothed_losses
        self.suggestion = suggestion
        self.stopped_early = stopped_early

    def plot(self, ax=None):
        """Loss against step size (log scale) with the suggestion marked.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; None makes a new figure.

        Returns
        -------
        ax : matplotlib Axes
            The Axes drawn on.
        """
        plt = import_pyplot("LearningRateFinderResult.plot")
        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3.6))
        ax.plot(self.learning_rates, self.losses, alpha=0.3, label="loss")
        ax.plot(self.learning_rates, self.smoothed_losses, label="smoothed loss")
        ax.axvline(self.suggestion, color="k", linestyle="--",
                   label=f"suggestion {self.suggestion:.2g}")  # fmt: skip
        ax.set(xscale="log", xlabel="learning_rate", ylabel="training objective",
               title="Learning-rate range test")  # fmt: skip
        ax.legend()
        return ax


def find_learning_rate(
    estimator,
    X,
    y,
    *,
    sample_weight=None,
    min_learning_rate=1e-6,
    max_learning_rate=10.0,
    n_steps=200,
    stop_factor=4.0,
    smoothing=0.05,
    random_state=None,
):
    """Suggest a ``learning_rate`` by the range test, on a clone of ``estimator``.

    The clone starts where ``fit`` starts and takes ``n_steps`` optimizer steps
    on shuffled batches of its own ``batch_size``, the step size growing
    geometrically from ``min_learning_rate`` to ``max_learning_rate``. After
    each step the training objective is measured on a fixed sample of the
    rows (all of them up to 1024). The test stops once the smoothed objective
    exceeds ``stop_factor`` times its minimum, or training diverges.
    ``estimator`` itself is never changed. SGD and momentum steps are bounded
    by the engine's curvature bound, so their curve flattens at large step
    sizes instead of exploding.

    The data are validated and weighted as ``fit`` does: anything ``fit``
    takes (dense or sparse, DataFrame, lists; a pandas ``y`` is read by
    position, as ``fit`` reads it), ``class_weight`` (``'balanced'`` computed
    on the whole data) folded into ``sample_weight``, and rows of zero weight,
    which change nothing in the objective, left out of the batches.

    Parameters
    ----------
    estimator : GDRegressor, GDClassifier, or a Pipeline ending in one
        With a Pipeline, its other steps are fitted on ``(X, y)`` (without
        ``sample_weight``) and the test runs on the data they output; the
        suggestion is for the last step
        (``pipeline.set_params(<last step>__learning_rate=...)``).
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Training data.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Target values.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows.
    min_learning_rate, max_learning_rate : float, default=1e-6, 10.0
        The range of step sizes tried: finite, ``0 < min < max``.
    n_steps : int, default=200
        Number of optimizer steps (at least 10); the step size grows
        geometrically over them.
    stop_factor : float, default=4.0
        Stop once the smoothed objective exceeds this multiple (> 1) of its
        minimum.
    smoothing : float, default=0.05
        Weight in (0, 1] of the newest objective in the moving average.
    random_state : int, RandomState instance or None, default=None
        Shuffles the batches and draws the evaluation sample.

    Returns
    -------
    result : LearningRateFinderResult
        The step sizes, the losses, and the suggested ``learning_rate``.

    See Also
    --------
    LossCurveDisplay : The curves of a fitted model, epoch by epoch.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_gd import GDClassifier, find_learning_rate
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> result = find_learning_rate(GDClassifier(), scale(X), y, random_state=0)
    >>> 1e-6 < result.suggestion < 10
    True
    """
    _check_finder_params(min_learning_rate, max_learning_rate, n_steps, stop_factor, smoothing)
    estimator, X = _last_step(estimator, X, y)
    model = clone(estimator)
    model._check_params()
    X, y, sw = model._check_data(X, y, sample_weight, reset=True)
    Y, sw = model._encode_target(y, sw, X.dtype, first=True, partial=False)
    if sw.min() <= 0:
        X, Y, sw = X[sw > 0], Y[sw > 0], sw[sw > 0]
    n = X.shape[0]
    batch = model.batch_size
    batch = auto_batch_size(n) if batch == "auto" else n if batch == "full" else min(batch, n)
    loss = model._make_loss()
    model.set_params(
        schedule=_RangeTest(min_learning_rate, max_learning_rate, n_steps),
        learning_rate=max_learning_rate,
        batch_size=batch,
        shuffle=False,
        average=False,
        warm_start=False,
        verbose=0,
    )
    # Trained on y / s as fit trains (GDRegressor's "Units"); the curve is in y's units.
    scale = model._target_scale(Y, sw, loss)
    gain = model._gain(scale, loss)
    trainer = model._trainer(loss, n, streaming=True, scale=scale)
    theta = model._initial_theta(X.shape[1], Y, sw, loss, warm=False, scale=scale)
    state = trainer.init_state(theta)
    Y = Y / scale if scale != 1.0 else Y  # multiclass labels are never scaled
    rng = check_random_state(random_state)
    sample = np.sort(rng.permutation(n)[:EVAL_ROWS])
    X_eval, Y_eval, sw_eval = X[sample], Y[sample], sw[sample] / sw[sample].sum()
    order, start = rng.permutation(n), 0
    unused = np.random.default_rng(0)  # run_epoch's shuffling: one batch has nothing to shuffle
    rates, losses, smoothed = [], [], []
    average, best, stopped = 0.0, np.inf, False
    for step in range(n_steps):
        if start + batch > n:  # a new pass over reshuffled rows
            order, start = rng.permutation(n), 0
        rows = order[start : start + batch]
        start += batch
        try:
            _, rate, _ = trainer.run_epoch(state, X[rows], Y[rows], sw[rows], unused)
        except DivergenceError:
            stopped = True
            break
        weights = state.theta
        with np.errstate(all="ignore"):
            raw = model._raw(X_eval, weights[:, :-1], weights[:, -1])
            value = gain * trainer.objective(
                float(sw_eval @ trainer.loss.value(Y_eval, raw)), weights
            )
        average = smoothing * value + (1 - smoothing) * average
        value_smoothed = average / (1 - (1 - smoothing) ** (step + 1))
        rates.append(rate)
        losses.append(value)
        smoothed.append(value_smoothed)
        best = min(best, value_smoothed)
        if not np.isfinite(value_smoothed) or value_smoothed > stop_factor * best:
            stopped = True
            break
    rates, losses, smoothed = map(np.asarray, (rates, losses, smoothed))
    return LearningRateFinderResult(rates, losses, smoothed, _suggest(rates, smoothed), stopped)


def _check_finder_params(min_learning_rate, max_learning_rate, n_steps, stop_factor, smoothing):
    """Clear errors for the range test's own parameters."""
    for name, value in [("min_learning_rate", min_learning_rate),
                        ("max_learning_rate", max_learning_rate)]:  # fmt: skip
        check_scalar(value, name, Real, min_val=0, include_boundaries="neither")
        if not np.isfinite(value):
            raise ValueError(f"{name} must be a finite float > 0, got {value!r}.")
    if not min_learning_rate < max_learning_rate:
        raise ValueError(
            "Need 0 < min_learning_rate < max_learning_rate; got "
            f"min_learning_rate={min_learning_rate} and max_learning_rate={max_learning_rate}."
        )
    check_scalar(n_steps, "n_steps", Integral, min_val=10)
    check_scalar(stop_factor, "stop_factor", Real, min_val=1, include_boundaries="neither")
    check_scalar(smoothing, "smoothing", Real, min_val=0, max_val=1, include_boundaries="right")


def _last_step(estimator, X, y):
    """The GD estimator to test and the data it sees: a Pipeline's other steps
    are fitted on ``(X, y)`` and transform ``X``."""
    head = None
    if isinstance(estimator, Pipeline):
        head, estimator = estimator[:-1], estimator.steps[-1][1]
    if not isinstance(estimator, BaseGD):
        raise TypeError(
            "find_learning_rate needs a GDRegressor, a GDClassifier or a Pipeline "
            f"ending in one; got {type(estimator).__name__}."
        )
    if head is not None and len(head):
        X = clone(head).fit_transform(X, y)
    return estimator, X


def _suggest(rates, smoothed):
    """The step size where the smoothed loss falls fastest, before its minimum."""
    lowest = int(np.argmin(smoothed))
    if lowest < 2:
        return float(rates[max(lowest, 0)] if len(rates) else np.nan)
    slope = np.gradient(smoothed[: lowest + 1], np.log(rates[: lowest + 1]))
    return float(rates[int(np.argmin(slope))])
