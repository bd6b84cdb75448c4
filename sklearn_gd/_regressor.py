"""GDRegressor: linear regression trained by gradient descent."""

import warnings
from numbers import Real

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.model_selection import train_test_split

from ._base import BaseGD
from ._compat import Interval, StrOptions
from .losses import REGRESSION_LOSSES
from .optimizers import resolve_optimizer


class GDRegressor(RegressorMixin, BaseGD):
    """Linear regression fitted by gradient descent with a choice of optimizer.

    Minimises ``sum(sw * loss(y, X w + b)) / sum(sw) + alpha * R(w)`` with
    ``R(w) = l1_ratio * ||w||_1 + (1 - l1_ratio) / 2 * ||w||^2``, by batches of
    ``batch_size`` rows, with the update rule ``optimizer`` and the step size
    ``learning_rate`` shaped by ``schedule``. On convex losses it heads for the
    optimum of scikit-learn's exact solvers (``Ridge(alpha=alpha * n)``,
    ``PoissonRegressor(alpha=alpha)``, ...); with the defaults it ends within
    0.1% of that optimum's objective on full batches and 1% on mini-batches
    (see ``tol``).

    Any units of ``y``: with ``init='baseline'`` (the default) and a loss with
    the identity link, training runs on ``y / s``, ``s`` the target's root-mean-square
    deviation from its baseline on the rows of the call that starts training
    (rounded to a power of 2, one number for all outputs), with ``epsilon`` and
    the penalty strengths transformed so that the optimum is that of the
    objective on ``y`` (a loss of degree ``p`` in ``(y, prediction)``: ``alpha``'s
    L2 part times ``s**(2 - p)``, its L1 part times ``s**(1 - p)``). ``coef_``,
    ``intercept_``, ``loss_curve_`` and the validation loss are in the units of
    ``y``; ``tol`` and ``learning_rate`` read the objective and the weights of
    ``y / s``, so fitting ``c * y`` takes the same epochs to the same relative gap
    as fitting ``y`` (on standardized diabetes: R^2 within 0.001 of Ridge for
    ``c`` from 1e-3 to 1e4). A ``partial_fit`` stream keeps the scale of its first
    call. 'poisson' is not scaled (its log link turns ``c * y`` into an
    intercept shift of ``log c``, and Adam's steps do not depend on the
    gradient's scale), nor is anything with ``init='zero'``, the textbook run on
    ``y`` itself. Outputs in very different units share one scale: standardize
    them (``TransformedTargetRegressor``) if they differ by orders of magnitude.

    Parameters
    ----------
    loss : str, default='squared_error'
        'squared_error' (half squared error), 'huber', 'epsilon_insensitive',
        'squared_epsilon_insensitive', 'absolute_error', 'quantile' (pinball
        loss at ``quantile``), or 'poisson' (half Poisson deviance with log link:
        predictions are ``exp(X w + b)``; ``y`` must be >= 0).
    penalty : {'l2', 'l1', 'elasticnet'} or None, default='l2'
        L1 parts are applied by a proximal step and give exact zeros.
    alpha : float, default=1e-4
        Penalty strength. The default is scikit-learn SGD's: a light ridge
        that keeps the problem strongly convex without biasing standardized
        data noticeably.
    l1_ratio : float, default=0.15
        Elastic-net mix (used by 'elasticnet' only), as in scikit-learn.
    fit_intercept : bool, default=True
        Whether to learn an intercept (never penalised). Set it to False when
        the data are already centred.
    optimizer : str or Optimizer, default='adam'
        'sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam', 'adamw',
        'nadam', 'amsgrad', or an object from :mod:`sklearn_gd.optimizers`.
        Adam is the default because its steps do not depend on the scale of
        the gradient, so one ``learning_rate`` works across datasets.
    learning_rate : float, default=0.1
        Base step size. Adam moves each coefficient by about ``learning_rate``
        a step, in the units of ``y / s`` with ``init='baseline'`` (see above),
        else in the units of ``y``.
    schedule : str or Schedule, default='auto'
        'auto', 'constant', 'optimal', 'invscaling', 'adaptive', 'step',
        'exponential', 'cosine', 'plateau', or an object from
        :mod:`sklearn_gd.schedules`. 'auto' (:class:`~sklearn_gd.schedules.Auto`)
        keeps the step constant where each step sees the whole data (full-batch
        Adam then converges linearly) and, on mini-batches, halves it when the
        objective at the averaged weights rises or levels off, until a cut no
        longer lowers it by ``tol``. 'adaptive' is scikit-learn's schedule
        exactly: its absolute ``tol`` cuts a slow descent short (full-batch
        training ended 16-71% above the optimum on four datasets with it).
    batch_size : int, 'full' or 'auto', default='auto'
        Rows per step: 1 is stochastic gradient descent, 'full' is batch
        gradient descent. 'auto' is the whole data up to 64 rows, else
        ``n_samples // 16`` clipped to [16, 256]: at least 16 steps an epoch,
        in batches large enough for BLAS to do the work.
    max_iter : int, default=1000
        Maximum number of epochs (passes over the data).
    tol : float or None, default=1e-4
        When to stop, relative to the training objective. With the defaults,
        training ends within 0.1% of the optimum's objective on full batches and
        within 1% on mini-batches (measured on standardized breast cancer, iris,
        wine, digits, diabetes and linnerud, ``benchmarks/DEFAULTS.md``), or a
        ``ConvergenceWarning`` says it did not (``max_iter`` ran out, or a
        plateau rule stopped a descent that was still going). On deterministic
        steps: when the decrease still to come, extrapolated from the last two
        windows of ``n_iter_no_change`` epochs of steady descent, is at most
        ``tol`` times the objective. On mini-batches with 'auto': when a cut of
        the step size no longer lowers the objective at the averaged weights by
        ``tol`` (relative), or what further cuts would bring, extrapolated from
        the last two, is at most ``tol``. With other schedules also when no
        epoch has set a new best for ``n_iter_no_change`` epochs. With early
        stopping, and with ``schedule='adaptive'`` (scikit-learn's rule
        exactly): when the monitored value has not improved by ``tol``
        (absolute) for ``n_iter_no_change`` epochs; with early stopping and
        'auto' on mini-batches such a stall first cuts the step size, and
        training stops at a stall whose mean is not ``tol`` below that of the
        stall before. None runs all ``max_iter`` epochs at a
        constant 'auto' step. Horizon schedules ('cosine', ``Warmup``) are not
        stopped before their horizon.
    n_iter_no_change : int, default=5
        Patience: the number of epochs without an improvement of ``tol`` before
        training stops (or, with a plateau schedule, the step size is cut), and
        the length of the convergence rule's windows.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and monitor the validation
        score instead of the training objective.
    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping, in (0, 1).
        Used only when ``early_stopping=True``.
    restore_best_weights : bool, default=False
        Keep the weights of the best monitored epoch at the end of ``fit``.
    scoring : 'loss', None, str or callable, default='loss'
        What early stopping monitors: 'loss' is minus the validation objective's
        data term (as ``HistGradientBoosting*``), None the estimator's ``score``
        (R^2), or any scikit-learn scorer name or callable (``'roc_auc'``,
        ``make_scorer(...)``; see :func:`sklearn.metrics.check_scoring`).
        'loss' by evidence: it changes smoothly, while a score on a small
        validation split ties between epochs and picks an early one. With
        ``restore_best_weights=True``, ``GDClassifier``'s test accuracies over 5
        splits (wine, breast cancer, digits, iris) were 0.993 / 0.967 / 0.965 / 0.951 with
        'loss' and 0.948 / 0.954 / 0.950 / 0.764 with None.
    clip_norm : float or None, default=None
        Rescale each step's gradient to at most this global L2 norm.
    average : bool, int or 'auto', default='auto'
        Predict with the running average of the iterates (Polyak-Ruppert),
        from step ``average`` on when an int. ``'auto'`` averages from the
        second epoch of ``fit`` when the batches are smaller than the data,
        and never in ``partial_fit``.
    shuffle : bool, default=True
        Reshuffle the rows every epoch.
    warm_start : bool, default=False
        Start ``fit`` from the current ``coef_`` and ``intercept_``; the
        optimizer state starts afresh (``partial_fit`` continues everything).
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling, the validation split and the averaging start;
        pass an int for reproducible fits.
    verbose : int, default=0
        1 prints one line per epoch (loss, validation score, step size,
        seconds); 2 adds the running loss about ten times an epoch.
    epsilon : float, default=0.1
        Width of the 'huber' and epsilon-insensitive losses, in the units of
        ``y`` (as scikit-learn's SGD reads it).
    engine : {'auto', 'numpy', 'numba'}, default='auto'
        Where the batch loop runs. 'numba' compiles it (once per machine,
        cached on disk), which pays for epochs of many small steps
        (per-sample and small mini-batches); 'numpy' runs it with NumPy, which
        is as fast for large batches. 'auto' compiles where the whole fit has
        enough steps to pay for it, and falls back to NumPy with a warning
        where it cannot compile (a user-defined rule numba cannot compile, an
        unusable cache).
    safe_steps : bool, default=True
        Only with ``batch_size=1`` and a rule that is not scale-free ('sgd',
        'momentum', 'nesterov'): bound each step by the curvature of its own
        row, ``1 / (c * ||x~||^2)`` (normalised LMS), so that one large row
        cannot blow the weights up. A warning says when it binds, and
        ``learning_rate_curve_`` shows the steps actually taken. Set it to False
        to take ``learning_rate`` exactly as given. No effect otherwise.
    init : {'baseline', 'zero'}, default='baseline'
        Where a cold start begins (``fit`` without ``warm_start``, and the first
        ``partial_fit``): 'baseline' puts the intercept at the loss's best
        constant on the rows of that call (weighted mean, median, log-odds...)
        and the coefficients at 0; 'zero' starts everything at 0, the textbook
        start and scikit-learn SGD's. 'baseline' is the default here because
        regression coefficients and intercepts are in the units of ``y``: on
        standardized diabetes ``fit`` converged in 140 epochs against 281 from
        zero (same objective), and one ``partial_fit`` pass in chunks of 32
        scored R^2 0.08 against -3.78.
    quantile : float, default=0.5
        The quantile estimated by ``loss='quantile'``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Weights of the features.
    intercept_ : ndarray of shape (1,) or (n_targets,)
        Intercepts, zero when ``fit_intercept=False``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during ``fit``; defined only when ``X`` has
        string column names.
    n_iter_ : int
        Epochs run (``partial_fit`` calls count one each).
    t_ : int
        Optimizer steps taken.
    loss_curve_ : list of float
        Training objective (mean loss plus penalty) per epoch, both terms
        taken at the weights each batch stepped from and weighted like the
        batch: for full-batch training, exactly the objective at the weights
        the epoch started from. ``partial_fit`` appends one value per
        call (with ``learning_rate_curve_``, about 70 bytes a call): the only
        memory a long stream accumulates.
    validation_score_curve_ : list of float
        Validation score per epoch, with ``early_stopping``.
    learning_rate_curve_ : list of float
        The step size actually taken at the last step of each epoch (after
        any ``safe_steps`` bound).
    best_epoch_ : int or None
        The epoch with the best monitored value in the last ``fit``.

    See Also
    --------
    GDClassifier : The same engine for classification.
    sklearn.linear_model.Ridge : Exact solvers for the squared error with an L2 penalty.
    sklearn.linear_model.SGDRegressor : Per-sample plain SGD.

    Notes
    -----
    Every step is ``learning_rate`` times the schedule's factor, never
    silently smaller: a step too large for the data makes training diverge,
    and ``fit`` then raises a ``DivergenceError`` naming the epoch and the
    learning rate (or saying that the input itself overflowed), leaving the
    estimator as it was. The one exception is ``safe_steps`` with
    ``batch_size=1``, which warns when it binds.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_gd import GDRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), GDRegressor(random_state=0)).fit(X, y)
    >>> model.score(X, y) > 0.5
    True
    """

    _parameter_constraints = {
        **BaseGD._parameter_constraints,
        "loss": [StrOptions(REGRESSION_LOSSES.keys())],  # a live view: new entries count
        "quantile": [Interval(Real, 0, 1, closed="neither")],
    }
    _y_numeric = True
    _multi_output = True

    def __init__(
        self,
        loss="squared_error",
        *,
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        fit_intercept=True,
        optimizer="adam",
        learning_rate=0.1,
        schedule="auto",
        batch_size="auto",
        max_iter=1000,
        tol=1e-4,
        n_iter_no_change=5,
        early_stopping=False,
        validation_fraction=0.1,
        restore_best_weights=False,
        scoring="loss",
        clip_norm=None,
        average="auto",
        shuffle=True,
        warm_start=False,
        random_state=None,
        verbose=0,
        epsilon=0.1,
        engine="auto",
        safe_steps=True,
        init="baseline",
        quantile=0.5,
    ):
        super().__init__(
            loss,
            penalty=penalty,
            alpha=alpha,
            l1_ratio=l1_ratio,
            fit_intercept=fit_intercept,
            optimizer=optimizer,
            learning_rate=learning_rate,
            schedule=schedule,
            batch_size=batch_size,
            max_iter=max_iter,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            restore_best_weights=restore_best_weights,
            scoring=scoring,
            clip_norm=clip_norm,
            average=average,
            shuffle=shuffle,
            warm_start=warm_start,
            random_state=random_state,
            verbose=verbose,
            epsilon=epsilon,
            engine=engine,
            safe_steps=safe_steps,
            init=init,
        )
        self.quantile = quantile

    def _make_loss(self):
        return REGRESSION_LOSSES[self.loss](epsilon=self.epsilon, quantile=self.quantile)

    def _encode_target(self, y, sample_weight, dtype, *, first, partial, classes=None):
        if first:
            self._single_output = y.ndim == 1
        elif (y.ndim == 1) != self._single_output or (
            y.ndim == 2 and y.shape[1] != np.shape(self.coef_)[0]
        ):
            raise ValueError(
                "y has a different number of targets than in the first call to "
                f"partial_fit (got shape {y.shape})."
            )
        loss = self._make_loss()
        if not loss.in_y_true_range(y):
            raise ValueError(
                f"loss={self.loss!r} requires {loss.interval_y_true}; y has values outside it."
            )
        # Train in the precision of X.
        Y = np.asarray(y, dtype=dtype).reshape(len(y), -1)
        # Largest deviation from the mean: no squares to underflow.
        spread = np.abs(Y - Y.mean(axis=0)).max(axis=0).min()
        if (
            first
            and self._target_scale(Y, sample_weight, loss) == 1.0  # training is not on y / s
            and resolve_optimizer(self.optimizer).scale_free
            and 0 < spread < 0.01 * self.learning_rate
        ):
            # Scale-free rules move each coefficient by about learning_rate a
            # step, and regression coefficients are in the units of y.
            warnings.warn(
                f"learning_rate={self.learning_rate} is large for a target whose spread is "
                f"{spread:.3g}: {self.optimizer!r} moves each coefficient by about "
                "learning_rate per step. Scale y (e.g. TransformedTargetRegressor with "
                "StandardScaler), lower learning_rate, or use optimizer='sgd'.",
                UserWarning,
                stacklevel=4,
            )
        return Y, sample_weight

    def _validation_split(self, n_samples, y, seed):
        # float(): train_test_split refuses an np.float32 test_size.
        fraction = float(self.validation_fraction)
        train, val = train_test_split(np.arange(n_samples), test_size=fraction, random_state=seed)
        if len(val) < 2:
            # One row has no spread: R^2 is undefined and the monitor would see a
            # constant (scikit-learn's SGDRegressor then never stops early).
            raise ValueError(
                f"early_stopping needs at least 2 validation rows, but "
                f"validation_fraction={fraction:g} of {n_samples} samples holds out "
                f"{len(val)}; raise validation_fraction to at least {2 / n_samples:.3g}, "
                "use more data, or set early_stopping=False."
            )
        return train, val

    def _score_raw(self, raw, Y, sw):
        pred = self._inverse_link(raw)
        residual = (sw[:, None] * (Y - pred) ** 2).sum(axis=0)
        mean = np.average(Y, axis=0, weights=sw)
        total = (sw[:, None] * (Y - mean) ** 2).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(total > 0, 1.0 - residual / total, 0.0)
        return float(np.mean(r2))

    def _inverse_link(self, raw):
        return self._make_loss().inverse_link(raw)

    def _coef_attributes(self, weights):
        attributes = super()._coef_attributes(weights)
        if self._single_output:
            attributes["coef_"] = attributes["coef_"][0]
        return attributes

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)``, continuing from the current state.

        Batching is as in ``fit``; the optimizer state, step count and
        schedule position carry over between calls, so with ``init='zero'``
        calls on consecutive chunks (multiples of ``batch_size``,
        ``shuffle=False``) give exactly the weights of the equivalent epoch of
        ``fit``. Gradients are normalised by the mean weight of all the rows
        the stream has seen, so a row's weight counts the same across calls
        as within one. ``tol`` does not apply, and ``early_stopping=True``
        raises a ``ValueError``. With ``init='baseline'`` the stream trains on
        ``y / s`` with the scale ``s`` of its first call (see "Any units of y"
        above), so the default learning rate fits targets in any units: one pass
        over standardized diabetes in 50-row chunks (progressive R^2, each
        chunk scored before training on it, mean of 5 orders) gave 0.407 /
        0.406 / 0.396 for ``y`` times 1e-3 / 1 / 1e4 (before the scaling:
        -16.0 / 0.019 / -0.020), and learning_rate 0.01 / 0.03 / 0.1 / 0.3 gave
        0.177 / 0.323 / 0.406 / 0.094: the default 0.1 is also the stream's best.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input samples.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows; a row's weight counts the same across calls
            as within one.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._partial_fit(X, y, sample_weight)

    def predict(self, X):
        """Predict the target: the inverse link of ``X @ coef_.T + intercept_``.

        The loss's inverse link is the identity, or ``exp`` for 'poisson'.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            The predicted values.
        """
        pred = self._inverse_link(self._raw_predict(X))
        return pred[:, 0] if self._single_output else pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        loss = REGRESSION_LOSSES.get(self.loss)
        if loss is not None and loss.interval_y_true.low >= 0:
            tags.target_tags.positive_only = True
        return tags
