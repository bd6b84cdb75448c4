"""Learning curves of fitted estimators, in the style of scikit-learn's Displays."""

import numpy as np

from ._plotting import import_pyplot

CURVES = {
    "loss": ("loss_curve_", "training objective", "log"),
    "validation": ("validation_score_curve_", "validation score", "linear"),
    "learning_rate": ("learning_rate_curve_", "step size", "log"),
}


class LossCurveDisplay:
    """Training loss, validation score and step size per epoch.

    Build it with :meth:`from_estimator` or :meth:`from_estimators` (to compare
    several fitted models) and draw it with :meth:`plot`; matplotlib is needed
    only to draw.

    Parameters
    ----------
    runs : list of dict
        One dict per model, with ``name`` and the curves ``loss``,
        ``validation`` and ``learning_rate`` (lists of floats, possibly empty).

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes
        One Axes per drawn curve kind, in the order of ``curves``.
    figure_ : matplotlib Figure
        The figure holding ``axes_``.
    lines_ : dict
        For each drawn curve kind, the list of Line2D (one per run).

    See Also
    --------
    find_learning_rate : The learning-rate range test, with its own plot.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn_gd import GDRegressor
    >>> from sklearn_gd.display import LossCurveDisplay
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = GDRegressor(random_state=0).fit(X, y)
    >>> display = LossCurveDisplay.from_estimator(model)  # doctest: +SKIP
    """

    def __init__(self, runs):
        self.runs = runs

    @staticmethod
    def _run(estimator, name):
        estimator = estimator[-1] if hasattr(estimator, "steps") else estimator
        if not hasattr(estimator, "loss_curve_"):
            raise ValueError(
                f"{type(estimator).__name__} has no loss_curve_: fit a GDRegressor or "
                "GDClassifier (alone or last in a Pipeline) first."
            )
        run = {kind: list(getattr(estimator, attr, [])) for kind, (attr, _, _) in CURVES.items()}
        run["name"] = name if name is not None else type(estimator).__name__
        return run

    @classmethod
    def from_estimator(cls, estimator, *, name=None, ax=None, curves=None):
        """Draw the curves of one fitted estimator (or a Pipeline ending in one).

        Parameters
        ----------
        estimator : fitted GDRegressor, GDClassifier or Pipeline
            The model whose curves to draw; a Pipeline must end in one of the
            estimators.
        name : str, default=None
            Legend label; the class name by default.
        ax : matplotlib Axes or sequence of Axes, default=None
            See :meth:`plot`.
        curves : sequence of {'loss', 'validation', 'learning_rate'}, default=None
            See :meth:`plot`.

        Returns
        -------
        display : LossCurveDisplay
            The display, drawn.
        """
        return cls([cls._run(estimator, name)]).plot(ax=ax, curves=curves)

    @classmethod
    def from_estimators(cls, estimators, *, names=None, ax=None, curves=None):
        """Draw the curves of several fitted estimators on the same axes.

        Parameters
        ----------
        estimators : sequence of fitted estimators
            The models to compare (each alone or last in a Pipeline).
        names : sequence of str, default=None
            Legend labels, one per estimator.
        ax : matplotlib Axes or sequence of Axes, default=None
            See :meth:`plot`.
        curves : sequence of {'loss', 'validation', 'learning_rate'}, default=None
            See :meth:`plot`.

        Returns
        -------
        display : LossCurveDisplay
            The display, drawn.
        """
        names = names if names is not None else [None] * len(estimators)
        if len(names) != len(estimators):
            raise ValueError(f"names has {len(names)} entries for {len(estimators)} estimators.")
        runs = [cls._run(est, name) for est, name in zip(estimators, names, strict=True)]
        return cls(runs).plot(ax=ax, curves=curves)

    def plot(self, ax=None, *, curves=None):
        """Draw the curves, one Axes per kind of curve.

        Parameters
        ----------
        ax : matplotlib Axes or sequence of Axes, default=None
            Where to draw: as many Axes as curve kinds. None makes a figure with
            the kinds side by side.
        curves : sequence of {'loss', 'validation', 'learning_rate'}, default=None
            Which kinds to draw; by default every kind that some run recorded.

        Returns
        -------
        self : LossCurveDisplay
            The display, with ``axes_``, ``figure_`` and ``lines_`` set.
        """
        plt = import_pyplot("LossCurveDisplay")
        if curves is None:
            curves = [kind for kind in CURVES if any(run[kind] for run in self.runs)]
        unknown = set(curves) - set(CURVES)
        if unknown:
            raise ValueError(f"Unknown curves {sorted(unknown)}; choose from {list(CURVES)}.")
        if ax is None:
            _, axes = plt.subplots(
                1, len(curves), figsize=(4.5 * len(curves), 3.6), layout="constrained"
            )
        else:
            axes = ax
        axes = np.atleast_1d(np.asarray(axes, dtype=object))
        if len(axes) != len(curves):
            raise ValueError(f"ax has {len(axes)} Axes for {len(curves)} curves {list(curves)}.")
        self.lines_ = {}
        for axis, kind in zip(axes, curves, strict=True):
            _, label, scale = CURVES[kind]
            self.lines_[kind] = [
                axis.plot(np.arange(1, len(run[kind]) + 1), run[kind], label=run["name"])[0]
                for run in self.runs
                if run[kind]
            ]
            if scale == "log" and all(v > 0 for run in self.runs for v in run[kind]):
                axis.set_yscale("log")
            axis.set(xlabel="epoch", ylabel=label, title=label)
            if len(self.runs) > 1:
                axis.legend()
        self.axes_ = axes
        self.figure_ = axes[0].figure
        return self
