"""The learning-rate range test (Smith 2017): grow the step size, watch the loss."""

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.utils import check_random_state

from ._base import auto_batch_size
from ._engine import DivergenceError
from ._plotting import import_pyplot
from .schedules import Schedule


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
        The training objective of each step's batch, before the step.
    smoothed_losses : ndarray
        ``losses`` under an exponential moving average (bias-corrected).
    suggestion : float
        Where the smoothed loss falls fastest per unit of ``log(learning_rate)``,
        before its minimum: large enough to learn fast, below where it blows up.
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

    The clone takes ``n_steps`` optimizer steps on shuffled batches of its own
    ``batch_size``, the step size growing geometrically from
    ``min_learning_rate`` to ``max_learning_rate``; the loss of each batch is
    recorded. The test stops once the smoothed loss exceeds ``stop_factor``
    times its minimum, or training diverges. ``estimator`` itself is never
    changed. SGD and momentum steps are bounded by the engine's curvature
    bound, so their curve flattens at large step sizes instead of exploding.

    Parameters
    ----------
    estimator : GDRegressor or GDClassifier
        The model to test, with the optimizer, batch size and penalty it will
        train with; it is cloned, never changed.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Training data.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Target values.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows.
    min_learning_rate, max_learning_rate : float, default=1e-6, 10.0
        The range of step sizes tried.
    n_steps : int, default=200
        Number of optimizer steps, >= 2; the step size grows geometrically
        over them.
    stop_factor : float, default=4.0
        Stop once the smoothed loss exceeds this multiple of its minimum.
    smoothing : float, default=0.05
        Weight of the newest loss in the moving average.
    random_state : int, RandomState instance or None, default=None
        Shuffles the batches.

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
    if not 0 < min_learning_rate < max_learning_rate:
        raise ValueError(
            "Need 0 < min_learning_rate < max_learning_rate; got "
            f"{min_learning_rate} and {max_learning_rate}."
        )
    if n_steps < 2:
        raise ValueError(f"n_steps must be at least 2, got {n_steps}.")
    n = X.shape[0]
    batch = estimator.batch_size
    batch = auto_batch_size(n) if batch == "auto" else n if batch == "full" else min(batch, n)
    model = clone(estimator).set_params(
        schedule=_RangeTest(min_learning_rate, max_learning_rate, n_steps),
        learning_rate=max_learning_rate,
        batch_size=batch,
        shuffle=False,
        warm_start=False,
    )
    extra = {"classes": np.unique(y)} if is_classifier(model) else {}
    rng = check_random_state(random_state)
    order = rng.permutation(n)
    rates, losses, smoothed = [], [], []
    average, best, stopped = 0.0, np.inf, False
    for step in range(n_steps):
        start = (step * batch) % n
        if start + batch > n:  # a new pass over reshuffled rows
            order = rng.permutation(n)
            start = 0
        rows = order[start : start + batch]
        sw = None if sample_weight is None else np.asarray(sample_weight)[rows]
        try:
            model.partial_fit(X[rows], y[rows], sample_weight=sw, **extra)
        except DivergenceError:
            stopped = True
            break
        loss = model.loss_curve_[-1]
        average = smoothing * loss + (1 - smoothing) * average
        value = average / (1 - (1 - smoothing) ** (step + 1))
        rates.append(model.learning_rate_curve_[-1])
        losses.append(loss)
        smoothed.append(value)
        best = min(best, value)
        if not np.isfinite(value) or value > stop_factor * best:
            stopped = True
            break
    rates, losses, smoothed = map(np.asarray, (rates, losses, smoothed))
    return LearningRateFinderResult(rates, losses, smoothed, _steepest(rates, smoothed), stopped)


def _steepest(rates, smoothed):
    """The step size where the smoothed loss falls fastest, before its minimum."""
    lowest = int(np.argmin(smoothed))
    if lowest < 2:
        return float(rates[max(lowest, 0)] if len(rates) else np.nan)
    slope = np.gradient(smoothed[: lowest + 1], np.log(rates[: lowest + 1]))
    return float(rates[int(np.argmin(slope))])
