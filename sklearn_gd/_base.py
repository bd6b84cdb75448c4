"""Shared estimator logic: validation, ``fit`` / ``partial_fit`` orchestration, state.

The data flow is one way: validate parameters and data -> encode the target as
an ``(n, K)`` matrix -> resolve names into loss / optimizer / schedule objects
-> run epochs through ``Trainer.run_epoch`` -> let the ``Monitor`` decide ->
store the ``TrainState`` and the curves. Training always works on a copy of the
state and stores it only on success, so a failed ``fit`` or ``partial_fit``
leaves the estimator as it was.
"""

import time
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_is_fitted, validate_data

from ._compat import (
    CallbackSupportMixin,
    Interval,
    StrOptions,
    check_sample_weight,
    with_callbacks,
)
from ._engine import Trainer
from ._stopping import Monitor
from .optimizers import OPTIMIZERS, Optimizer, resolve_optimizer
from .penalties import Penalty
from .schedules import SCHEDULES, Schedule, ScheduleContext, plateau_of, resolve_schedule


def auto_batch_size(n_samples):
    """``batch_size='auto'``: the whole data up to 64 rows, else ``n / 16`` in [16, 256].

    Tiny data is cheapest and exact in one batch. Otherwise an epoch takes at
    least 16 steps (so that the per-epoch ``tol`` sees real progress) in
    batches of at most 256 rows: large enough that BLAS, not the interpreter,
    does the work.
    """
    if n_samples <= 64:
        return n_samples
    return int(np.clip(n_samples // 16, 16, 256))


_FITTED = (
    "coef_",
    "intercept_",
    "n_iter_",
    "t_",
    "loss_curve_",
    "learning_rate_curve_",
    "validation_score_curve_",
    "best_epoch_",
    "_state",
    "n_features_in_",
    "feature_names_in_",
    "classes_",
    "_seed",
)


def _seed(random_state):
    """An integer seed from ``random_state``, as ``check_random_state`` reads it.

    An int is its own seed; None draws from NumPy's global RandomState, and an
    instance from itself. Training then shuffles with a ``Generator`` of that
    seed, whose permutation is a quarter faster than RandomState's and which
    costs 10 us to make against RandomState's 140 us (a whole small fit is 1 ms).
    """
    if isinstance(random_state, Integral):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


class BaseGD(CallbackSupportMixin, BaseEstimator):
    """Base class of the gradient-descent linear models; not for direct use."""

    # The HTML repr links to our own API pages (doc/api.rst's generated pages).
    _doc_link_module = "sklearn_gd"
    _doc_link_template = "https://sklearn-gd.readthedocs.io/en/stable/generated/{estimator_module}.{estimator_name}.html"  # noqa: E501

    _parameter_constraints = {
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "fit_intercept": ["boolean"],
        "optimizer": [StrOptions(set(OPTIMIZERS)), Optimizer],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "schedule": [StrOptions(set(SCHEDULES)), Schedule],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"full", "auto"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "restore_best_weights": ["boolean"],
        "scoring": [StrOptions({"loss"}), None],
        "clip_norm": [Interval(Real, 0, None, closed="neither"), None],
        "average": ["boolean", Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "shuffle": ["boolean"],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "engine": [StrOptions({"auto", "numpy", "numba"})],
    }

    def __init__(
        self,
        loss,
        *,
        penalty,
        alpha,
        l1_ratio,
        fit_intercept,
        optimizer,
        learning_rate,
        schedule,
        batch_size,
        max_iter,
        tol,
        n_iter_no_change,
        early_stopping,
        validation_fraction,
        restore_best_weights,
        scoring,
        clip_norm,
        average,
        shuffle,
        warm_start,
        random_state,
        verbose,
        epsilon,
        engine,
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.restore_best_weights = restore_best_weights
        self.scoring = scoring
        self.clip_norm = clip_norm
        self.average = average
        self.shuffle = shuffle
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.epsilon = epsilon
        self.engine = engine

    # --- hooks for the subclasses ----------------------------------------------

    def _make_loss(self):
        """The Loss object for this problem (after the target is encoded)."""
        raise NotImplementedError

    def _encode_target(self, y, sample_weight, dtype, *, first, partial, classes=None):
        """``(Y, sample_weight)``: ``y`` as an ``(n, K)`` matrix of ``dtype``, and the
        final weights (the classifier folds in ``class_weight``).

        ``first`` sets up what the target fixes (``classes_``, the number of
        outputs); ``partial`` says the call is ``partial_fit``.
        """
        raise NotImplementedError

    def _validation_split(self, n_samples, y, seed):
        """Indices ``(train, validation)`` for early stopping."""
        raise NotImplementedError

    def _score_raw(self, raw, Y, sw):
        """The estimator's own score (R^2, accuracy) from raw predictions."""
        raise NotImplementedError

    # --- validation ---------------------------------------------------------------

    def _check_params(self):
        if isinstance(self.learning_rate, str):
            raise ValueError(
                "learning_rate is the base step size and must be a float > 0, got "
                f"{self.learning_rate!r}. How the step size changes is set by "
                f"schedule, one of {sorted(SCHEDULES)} "
                f"(e.g. schedule={self.learning_rate!r})."
            )
        self._validate_params()
        for component in (self.optimizer, self.schedule):
            if not isinstance(component, str):
                component._validate_params()

    def _check_data(self, X, y, sample_weight, *, reset):
        try:
            X, y = validate_data(
                self,
                X,
                y,
                accept_sparse=("csr", "csc"),
                dtype=(np.float64, np.float32),
                order="C",
                multi_output=self._multi_output,
                y_numeric=self._y_numeric,
                reset=reset,
            )
        except ValueError as exc:
            message = str(exc)
            if "could not convert" in message or "Complex data" in message:
                raise ValueError(
                    "X must hold real numbers (float64 or float32, or values that "
                    f"convert to them): {message.splitlines()[0]}"
                ) from exc
            raise
        if hasattr(X, "format") and X.format != "csr":
            X = X.tocsr()
        sample_weight = check_sample_weight(sample_weight, X, X.dtype)
        if not sample_weight.sum() > 0:
            raise ValueError(
                "sample_weight must contain at least one positive weight; all "
                f"{len(sample_weight)} weights are zero."
            )
        return X, y, sample_weight

    def _average_start(self, n_samples, batch_size, streaming):
        """First step of the iterate average; 0 for none.

        ``'auto'`` averages from the second epoch of ``fit`` on when the batches
        are stochastic: with a constant step they leave the weights in a noise
        ball around the optimum, which the average shrinks (Polyak-Ruppert),
        while the first epoch is left to travel. Full batches converge without
        it, and a stream (``partial_fit``) must follow drift, not average it out.
        """
        if self.average == "auto":
            b = n_samples if batch_size == "full" else batch_size
            sparse_l1 = self.penalty in ("l1", "elasticnet") and self.alpha > 0
            if streaming or b >= n_samples or sparse_l1:
                return 0
            return -(-n_samples // b) + 1
        return 0 if self.average is False else int(self.average)

    def _trainer(self, loss, n_samples, streaming=False):
        schedule = resolve_schedule(self.schedule)
        batch_size = auto_batch_size(n_samples) if self.batch_size == "auto" else self.batch_size
        return Trainer(
            loss=loss,
            optimizer=resolve_optimizer(self.optimizer),
            schedule=schedule,
            context=ScheduleContext(self.max_iter, self.alpha, loss),
            penalty=Penalty(self.penalty, self.alpha, self.l1_ratio),
            learning_rate=self.learning_rate,
            batch_size=batch_size,
            fit_intercept=self.fit_intercept,
            shuffle=self.shuffle,
            clip_norm=self.clip_norm,
            average_start=self._average_start(n_samples, batch_size, streaming),
            average_per_epoch=self.average == "auto",
            engine=self.engine,
            verbose=self.verbose,
            streaming=streaming,
        )

    def _initial_theta(self, n_features, Y, sw, loss, *, baseline):
        """Zeros, or the current weights with ``warm_start``.

        With ``baseline`` (``fit`` only), the intercept starts at the loss's
        best constant prediction: scale-free optimizers such as Adam move each
        weight by about ``learning_rate`` per step, and would otherwise spend
        most of their steps walking the intercept to the mean of ``y``.
        """
        n_outputs = Y.shape[1]
        theta = np.zeros((n_outputs, n_features + 1), dtype=Y.dtype)
        if self.warm_start and hasattr(self, "coef_"):
            theta[:, :-1] = np.reshape(self.coef_, (n_outputs, n_features))
            theta[:, -1] = self.intercept_
        elif baseline and self.fit_intercept:
            theta[:, -1] = loss.baseline(Y, sw)
        return theta

    # --- training ------------------------------------------------------------------

    def _fit(self, X, y, sample_weight):
        self._check_params()
        warm = self.warm_start and hasattr(self, "_state")
        X, y, sample_weight = self._check_data(X, y, sample_weight, reset=not warm)
        Y, sw = self._encode_target(y, sample_weight, X.dtype, first=True, partial=False)
        loss = self._make_loss()
        trainer = self._trainer(loss, X.shape[0])
        seed = _seed(self.random_state)

        if self.early_stopping:
            train, val = self._validation_split(X.shape[0], y, seed)
            X_val, Y_val, sw_val = X[val], Y[val], sw[val]
            X, Y, y, sw = X[train], Y[train], y[train], sw[train]
            if not sw.sum() > 0:
                raise ValueError("The training part of the early-stopping split has zero weight.")

        rng = np.random.default_rng(seed)
        state = trainer.init_state(self._initial_theta(X.shape[1], Y, sw, loss, baseline=True))
        monitor = Monitor(
            self.tol,
            self.n_iter_no_change,
            plateau_of(trainer.schedule),
            self.learning_rate,
            keep_best=self.restore_best_weights,
        )
        curves = {"loss_curve_": [], "learning_rate_curve_": [], "validation_score_curve_": []}
        callbacks = _Callbacks(self, X, y, sample_weight=None if sample_weight is None else sw)
        stopped = False
        for _ in range(self.max_iter):
            tic = time.perf_counter()
            progress = callbacks.epoch_begin(
                state, -(-X.shape[0] // trainer.batch_size_for(len(sw)))
            )
            mean_loss, lr = trainer.run_epoch(state, X, Y, sw, rng, progress)
            weights = state.weights
            objective = trainer.objective(mean_loss, weights)
            curves["loss_curve_"].append(objective)
            curves["learning_rate_curve_"].append(lr)
            monitored = objective
            if self.early_stopping:
                score = self._validation_score(weights, loss, X_val, Y_val, sw_val)
                curves["validation_score_curve_"].append(score)
                monitored = -score
            if self.verbose:
                self._print_epoch(state.epoch, curves, time.perf_counter() - tic)
            stopped, state.lr_scale = monitor.update(
                monitored,
                state.epoch,
                lambda: (
                    state.theta.copy(),
                    None if state.avg is None else state.avg.copy(),
                    state.n_avg,  # 0 when the best epoch came before averaging began
                ),
                state.lr_scale,
            )
            if callbacks.epoch_end(weights):  # a callback asked to stop
                stopped = True
            if stopped:
                break
        if not stopped and self.tol is not None and self.max_iter > 1:
            warnings.warn(
                f"Maximum number of epochs ({self.max_iter}) reached before the "
                "convergence criterion (tol, n_iter_no_change) was met; consider "
                "increasing max_iter.",
                ConvergenceWarning,
                stacklevel=3,
            )
        if self.restore_best_weights and monitor.best_weights is not None:
            state.theta, state.avg, state.n_avg = monitor.best_weights
        seed = int(rng.integers(np.iinfo(np.int32).max))
        self._store(state, curves, seed, best_epoch=monitor.best_epoch, append=False)
        callbacks.finish()
        return self

    @with_callbacks
    def fit(self, X, y, sample_weight=None):
        """Fit the model by gradient descent over ``max_iter`` epochs at most.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input samples.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Each batch's gradient is the ``sample_weight``-weighted mean of the
            per-sample gradients.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        try:
            return self._fit(X, y, sample_weight)
        except Exception:
            if not self.warm_start:
                for name in _FITTED:
                    self.__dict__.pop(name, None)
            raise

    def _partial_fit(self, X, y, sample_weight, classes=None):
        first = not hasattr(self, "_state")
        if first:
            self._check_params()
        X, y, sample_weight = self._check_data(X, y, sample_weight, reset=first)
        Y, sw = self._encode_target(
            y, sample_weight, X.dtype, first=first, partial=True, classes=classes
        )
        loss = self._make_loss()
        trainer = self._trainer(loss, X.shape[0], streaming=True)
        if first:
            seed = _seed(self.random_state)
            # Streaming starts from zero, as scikit-learn's SGD does: the first
            # chunk says little about the baseline of the whole stream.
            theta = self._initial_theta(X.shape[1], Y, sw, loss, baseline=False)
            state = trainer.init_state(theta)
        else:
            seed, state = self._seed, self._state.copy()
        # One generator per call, from the stored seed and the call's position:
        # pickling between calls then changes nothing.
        rng = np.random.default_rng([seed, state.epoch])
        tic = time.perf_counter()
        mean_loss, lr = trainer.run_epoch(state, X, Y, sw, rng)
        curves = {
            "loss_curve_": [trainer.objective(mean_loss, state.weights)],
            "learning_rate_curve_": [lr],
            "validation_score_curve_": [],
        }
        self._store(state, curves, seed, best_epoch=None, append=not first)
        if self.verbose:
            self._print_epoch(state.epoch, curves, time.perf_counter() - tic)
        return self

    def _store(self, state, curves, seed, *, best_epoch, append):
        """Publish a successful run: state, shuffling seed, fitted attributes and curves."""
        self._state = state
        self._seed = seed
        for name, value in self._coef_attributes(state.weights.copy()).items():
            setattr(self, name, value)
        self.n_iter_ = state.epoch
        self.t_ = state.t
        for name, values in curves.items():
            if append:  # in place: a long stream stays O(1) per call
                getattr(self, name).extend(values)
            else:
                setattr(self, name, values)
        self.best_epoch_ = best_epoch

    def _coef_attributes(self, weights):
        """``coef_`` and ``intercept_`` as the public attributes hold them."""
        return {"coef_": weights[:, :-1], "intercept_": weights[:, -1]}

    def _validation_score(self, weights, loss, X, Y, sw):
        raw = self._raw(X, weights[:, :-1], weights[:, -1])
        if self.scoring == "loss":
            return -float(sw @ loss.value(Y, raw)) / float(sw.sum())
        return self._score_raw(raw, Y, sw)

    def _print_epoch(self, epoch, curves, seconds):
        line = f"-- Epoch {epoch}: loss {curves['loss_curve_'][-1]:.6g}"
        if curves["validation_score_curve_"]:
            line += f", validation score {curves['validation_score_curve_'][-1]:.6g}"
        line += f", step size {curves['learning_rate_curve_'][-1]:.3g}, {seconds:.3g} s"
        print(line)

    # --- prediction --------------------------------------------------------------

    @staticmethod
    def _raw(X, coef, intercept):
        return safe_sparse_dot(X, coef.T, dense_output=True) + intercept

    def _raw_predict(self, X):
        """Raw predictions of shape ``(n_samples, n_outputs)``."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=(np.float64, np.float32), reset=False)
        coef = np.atleast_2d(self.coef_)
        return self._raw(X, coef, np.atleast_1d(self.intercept_))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


# An epoch of at least this many batches reports its progress in tenths.
LONG_EPOCH_BATCHES = 1_000


class _Callbacks:
    """scikit-learn's fit callbacks (``set_callbacks``), one subtask per epoch.

    Each epoch reports the weights it ends with as ``coef_`` / ``intercept_``,
    so that a ``ScoringMonitor`` can score the model epoch by epoch and a
    ``ProgressBar`` can advance; a long epoch has ten subtasks of batches.
    Without callback support (scikit-learn < 1.9) every call is a no-op.
    """

    def __init__(self, estimator, X, y, sample_weight):
        self.estimator = estimator
        init = getattr(estimator, "_init_callback_context", None)
        self.root = None if init is None else init(max_subtasks=estimator.max_iter)
        self.data = dict(X=X, y=y, metadata=None)
        if sample_weight is not None:
            self.data["metadata"] = {"sample_weight": sample_weight}
        self.epoch = None
        if self.root is not None:
            self.root.call_on_fit_task_begin(estimator=estimator, **self.data)

    def _attributes(self, weights):
        return self.estimator._coef_attributes(weights.copy())

    def epoch_begin(self, state, n_batches):
        """Open the epoch's subtask; for a long epoch, return the progress
        hooks that ``run_epoch`` calls around each tenth of its batches."""
        if self.root is None:
            return None
        self.state = state
        # Splitting the epoch costs a few calls into the compiled loop: only
        # when a callback is there to see the parts.
        watched = bool(getattr(self.estimator, "_skl_callbacks", None))
        self.segments = 10 if watched and n_batches >= LONG_EPOCH_BATCHES else 0
        self.epoch = self.root.subcontext(task_name="epoch", max_subtasks=self.segments)
        self.epoch.call_on_fit_task_begin(
            estimator=self.estimator,
            reconstruction_attributes=self._attributes(state.weights),
            **self.data,
        )
        return self if self.segments else None

    def begin(self):
        self.part = self.epoch.subcontext(task_name="batches")
        self.part.call_on_fit_task_begin(estimator=self.estimator)

    def end(self):
        self.part.call_on_fit_task_end(estimator=self.estimator)

    def epoch_end(self, weights):
        """Report the epoch's end; True when a callback asks to stop."""
        if self.root is None:
            return False
        return bool(self.epoch.call_on_fit_task_end(
            estimator=self.estimator, reconstruction_attributes=self._attributes(weights),
            **self.data,
        ))  # fmt: skip

    def finish(self):
        if self.root is not None:
            self.root.call_on_fit_task_end(
                estimator=self.estimator, reconstruction_attributes={}, **self.data
            )
