"""Shared estimator logic: validation, ``fit`` / ``partial_fit`` orchestration, state.

The data flow is one way: validate parameters and data -> encode the target as
an ``(n, K)`` matrix -> resolve names into loss / optimizer / schedule objects
-> run epochs through ``Trainer.run_epoch`` -> let the ``Monitor`` decide ->
publish the ``TrainState`` and the curves. Training works on a copy of the
state, and every fitted attribute is published in one step at the end
(``_publish``); ``_transaction`` puts back whatever validation set on the
estimator before a call that does not complete, so a failed ``fit`` or
``partial_fit`` (even by ``KeyboardInterrupt``) leaves the estimator as it was.
"""

import contextlib
import copy
import functools
import operator
import time
import warnings
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.utils import assert_all_finite, check_random_state
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._compat import (
    CallbackSupportMixin,
    Interval,
    StrOptions,
    check_sample_weight,
    with_callbacks,
)
from ._engine import DivergenceError, Trainer, row_chunks, rows_of
from ._kernel import CompileError
from ._stopping import DIVERGENCE_FACTOR, DivergenceCheck, Monitor
from .optimizers import OPTIMIZERS, Optimizer, resolve_optimizer
from .penalties import Penalty
from .schedules import (
    SCHEDULES,
    Adaptive,
    Auto,
    Schedule,
    ScheduleContext,
    plateau_of,
    resolve_schedule,
)


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


# Fitted state that is not a public attribute (those end in "_"): the
# training state, the stream's shuffling seed and the regressor's output shape.
_PRIVATE_FITTED = ("_state", "_seed", "_single_output")


def _fitted_names(estimator):
    """The names of the fitted attributes ``estimator`` holds now (derived, not listed)."""
    return [
        name
        for name in vars(estimator)
        if (name.endswith("_") and not name.startswith("_")) or name in _PRIVATE_FITTED
    ]


@functools.cache
def _param_names(cls):
    """``cls._get_param_names()``, which reads the signature each call."""
    return cls._get_param_names()


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


class SparseCoefMixin:
    """``densify()`` / ``sparsify()`` as on scikit-learn's linear models.

    scikit-learn's own mixin turns a 1-D ``coef_`` into a 2-D one on the way
    back; this one restores the shape ``fit`` gave (``_coef_attributes``).
    """

    def densify(self):
        """Convert ``coef_`` to a dense array (the default after ``fit``).

        Returns
        -------
        self : object
            The fitted estimator, with a dense ``coef_``.
        """
        check_is_fitted(self)
        if sparse.issparse(self.coef_):
            coef = self.coef_.toarray()
            weights = np.hstack([coef, np.zeros((coef.shape[0], 1), dtype=coef.dtype)])
            self.coef_ = self._coef_attributes(weights)["coef_"]
        return self

    def sparsify(self):
        """Convert ``coef_`` to a scipy.sparse CSR matrix of shape ``(n_outputs, n_features)``.

        Worth it when most coefficients are zero (an L1 penalty): prediction on
        sparse weights is faster and storing them smaller. ``predict`` works
        with either; ``fit`` and ``partial_fit`` give dense weights again.

        Returns
        -------
        self : object
            The fitted estimator, with a sparse ``coef_``.
        """
        check_is_fitted(self)
        self.coef_ = sparse.csr_matrix(np.atleast_2d(self.coef_))
        return self

    def _dense_coef(self):
        """``coef_`` as a dense array, whether or not it was sparsified."""
        return self.coef_.toarray() if sparse.issparse(self.coef_) else self.coef_


class BaseGD(SparseCoefMixin, CallbackSupportMixin, BaseEstimator):
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
        "scoring": [StrOptions({"loss"} | set(get_scorer_names())), callable, None],
        "clip_norm": [Interval(Real, 0, None, closed="neither"), None],
        "average": ["boolean", Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "shuffle": ["boolean"],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "engine": [StrOptions({"auto", "numpy", "numba"})],
        "safe_steps": ["boolean"],
        "init": [StrOptions({"baseline", "zero"})],
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
        safe_steps,
        init,
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
        self.safe_steps = safe_steps
        self.init = init

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

    def _param_values(self):
        """The parameters' objects: ``set_params`` replaces them."""
        return tuple(map(self.__dict__.get, _param_names(type(self))))

    def _checked_form(self, X, y, finite):
        """Whether ``validate_data`` would return ``X`` and ``y`` as they are.

        True for what a stream passes after its first call: a C-ordered float
        array of the fitted width with no feature names (finite, if ``finite``:
        else ``_FiniteX`` tests it), and a finite 1-D numeric ``y`` of its
        length. Anything else (or any doubt) takes the full check, which names
        what is wrong.
        """
        return (
            type(X) is np.ndarray
            and type(y) is np.ndarray
            and X.ndim == 2
            and y.ndim == 1
            and X.dtype in (np.float64, np.float32)
            and y.dtype.kind in "biuf"
            and X.flags.c_contiguous
            and 0 < len(X) == len(y)
            and X.shape[1] == getattr(self, "n_features_in_", None)
            and not hasattr(self, "feature_names_in_")
            and (not finite or bool(np.isfinite(X).all()))
            and (y.dtype.kind != "f" or bool(np.isfinite(y).all()))
        )

    def _check_data(self, X, y, sample_weight, *, reset, finite=True):
        """Validated ``(X, y, sample_weight)``; ``finite=False`` leaves out the test that
        ``X`` is finite (a pass over ``X``) for ``fit`` to fold into its first epoch
        (``_FiniteX``). Any other error of the data is raised as a full check raises it:
        after ``X``'s own, if ``X`` is not finite."""
        if not reset and self._checked_form(X, y, finite):
            return X, y, self._checked_weight(sample_weight, X)
        if finite:
            return self._checked_data(X, y, sample_weight, reset=reset, finite=True)
        try:
            return self._checked_data(X, y, sample_weight, reset=reset, finite=False)
        except Exception:
            # A full check tests X first: run it, to raise X's error if X has one.
            return self._checked_data(X, y, sample_weight, reset=reset, finite=True)

    def _checked_data(self, X, y, sample_weight, *, reset, finite):
        def not_real(name, message):
            what = "real numbers (float64 or float32, or values that convert to them)"
            if name == "y" and not self._y_numeric:
                what = "class labels (integers, strings or real numbers)"
            return ValueError(f"{name} must hold {what}: {message}")

        if sparse.issparse(y):
            raise TypeError(
                "y must be a dense array-like; a sparse matrix was passed for y: use y.toarray()."
            )
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
                ensure_all_finite=finite,
            )
        except ValueError as exc:
            message = str(exc).splitlines()[0]
            known = ("could not convert", "Complex data", "Input contains")
            if not any(part in message for part in known):
                raise
            # validate_data checks X and y together: say which one failed.
            try:
                check_array(X, accept_sparse=True, dtype=(np.float64, np.float32),
                            ensure_2d=False, allow_nd=True, ensure_min_samples=0)  # fmt: skip
            except ValueError:
                name = "X"
            else:
                name = "y"
            if "Input contains" in message:
                raise ValueError(message.replace("Input", f"Input {name}", 1)) from exc
            raise not_real(name, message) from exc
        if self._y_numeric and y.dtype.kind not in "biuf":  # strings pass validate_data
            try:
                y = y.astype(np.float64)
            except ValueError as exc:
                raise not_real("y", str(exc)) from exc
        if hasattr(X, "format") and X.format != "csr":
            X = X.tocsr()
        return X, y, self._checked_weight(sample_weight, X)

    @staticmethod
    def _checked_weight(sample_weight, X):
        sample_weight = check_sample_weight(sample_weight, X, X.dtype)
        if not sample_weight.sum() > 0:
            raise ValueError(
                "sample_weight must contain at least one positive weight; all "
                f"{len(sample_weight)} weights are zero."
            )
        return sample_weight

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

    def _target_scale(self, Y, sw, loss):
        """The scale ``s`` of the target that training divides ``y`` by (see "Units").

        With ``init='baseline'`` and a loss homogeneous in ``(y, raw)`` (identity
        links), the weighted root-mean-square deviation of ``Y`` from the loss's
        baseline rounded to a power of 2; one scalar over all outputs, since the
        engine's penalty strengths are one number for all of them (a per-output
        scale would change the optimum but for degree-2 losses with pure L2) and
        the curve sums the outputs. Else 1. A constant target falls back to its
        mean magnitude, then to 1.
        """
        if self.init != "baseline" or loss.homogeneity is None:
            return 1.0
        with np.errstate(all="ignore"):
            deviation = Y - loss.baseline(Y, sw)
            scale = np.sqrt(np.average(np.mean(deviation**2, axis=1), weights=sw))
            if not (np.isfinite(scale) and scale > 0):
                scale = np.average(np.mean(np.abs(Y), axis=1), weights=sw)
        if not (np.isfinite(scale) and scale > 0):
            return 1.0
        # A power of 2: y / s and w * s are then exact, so training on y / s adds
        # no rounding (weighted rows still equal repeated ones to the last bit).
        return float(2.0 ** np.round(np.log2(scale)))

    @staticmethod
    def _gain(scale, loss):
        """``s**p``: the objective on ``y`` is this times the objective on ``y / s``.

        A target whose objective float64 cannot hold (``y ~ 1e300``, squared)
        raises the ``DivergenceError`` its first epoch would have raised.
        """
        with np.errstate(over="ignore"):
            gain = np.float64(scale) ** (loss.homogeneity or 0)
        if not np.isfinite(gain):
            raise DivergenceError(
                f"The objective on y overflows float64 before epoch 1: y's spread "
                f"({scale:.3g}) to the power {loss.homogeneity} is not a float64. Scale y "
                "(e.g. TransformedTargetRegressor with StandardScaler)."
            )
        return float(gain)

    @staticmethod
    def _in_y_units(weights, state):
        """Weights trained on ``y / s`` (``state.y_scale``) in the units of ``y``."""
        scale = getattr(state, "y_scale", 1.0)  # states saved before the scale existed
        return weights if scale == 1.0 else weights * scale

    def _trainer(self, loss, n_samples, streaming=False, scale=1.0):
        """The Trainer on ``y / scale``: the loss's width and the penalty strengths
        transformed so that the optimum is the same (``_target_scale``)."""
        schedule = resolve_schedule(self.schedule)
        batch_size = auto_batch_size(n_samples) if self.batch_size == "auto" else self.batch_size
        penalty, alpha = Penalty(self.penalty, self.alpha, self.l1_ratio), self.alpha
        gain = 1.0
        if scale != 1.0:
            gain = self._gain(scale, loss)
            degree = loss.homogeneity
            loss, penalty = loss.in_units(scale), penalty.in_units(scale, degree)
            alpha = alpha * scale ** (2 - degree)  # what 'optimal' reads: the L2 strength
        return Trainer(
            loss=loss,
            optimizer=resolve_optimizer(self.optimizer),
            schedule=schedule,
            context=ScheduleContext(self.max_iter, alpha, loss),
            penalty=penalty,
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
            safe_steps=self.safe_steps,
            loss_gain=gain,
        )

    def _initial_theta(self, n_features, Y, sw, loss, *, warm, coef_init=None,
                       intercept_init=None, scale=1.0):  # fmt: skip
        """The weights a run starts from, in units of ``y / scale``.

        ``coef_init`` / ``intercept_init`` if given, else the current weights
        with ``warm`` (the intercept 0 when ``fit_intercept`` is now off), else
        the ``init`` rule: all zeros, or (``'baseline'``) the intercept at the
        loss's best constant on these rows, so that a scale-free rule such as
        Adam, which moves each weight by about ``learning_rate`` a step, does
        not spend its steps walking the intercept to the mean of ``y``.
        """
        n_outputs = Y.shape[1]
        theta = np.zeros((n_outputs, n_features + 1), dtype=Y.dtype)
        if coef_init is not None or intercept_init is not None:
            if coef_init is not None:
                theta[:, :-1] = self._check_init("coef_init", coef_init, (n_outputs, n_features))
            if intercept_init is not None and self.fit_intercept:
                theta[:, -1] = self._check_init("intercept_init", intercept_init, (n_outputs,))
        elif warm:
            theta[:, :-1] = np.reshape(self._dense_coef(), (n_outputs, n_features))
            if self.fit_intercept:
                theta[:, -1] = self.intercept_
        elif self.init == "baseline" and self.fit_intercept:
            theta[:, -1] = loss.baseline(Y, sw)
        return theta / scale if scale != 1.0 else theta

    def _check_init(self, name, value, shape):
        """``coef_init`` / ``intercept_init`` as an array of ``shape``, or a ValueError.

        Accepted in the engine's shape, in the public attribute's, and with a
        single output also flat (as scikit-learn's SGD takes them).
        """
        public = self._coef_attributes(np.zeros((shape[0], shape[-1] + 1)))
        allowed = {shape, np.shape(public["coef_" if name == "coef_init" else "intercept_"])}
        if shape[0] == 1:
            allowed.add(shape[1:])
        try:
            value = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be an array of numbers: {exc}") from exc
        if value.shape not in allowed:
            raise ValueError(
                f"{name} has shape {value.shape}; expected "
                f"{' or '.join(str(a) for a in sorted(allowed, key=len))}."
            )
        if not np.isfinite(value).all():
            raise ValueError(f"{name} contains NaN or infinity.")
        return np.reshape(value, shape)

    def _check_warm_target(self, before, theta_shape):
        """Raise if the target of a warm start no longer fits the stored model."""
        coef_shape = np.shape(self._coef_attributes(np.zeros(theta_shape))["coef_"])
        classes = before.get("classes_")
        if classes is not None and not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"warm_start=True but y has the classes {self.classes_.tolist()!r}, not "
                f"the fitted model's {classes.tolist()!r}. Set warm_start=False to fit "
                "a new model."
            )
        old_shape = np.shape(before["coef_"])
        # Compared as (outputs, features): a sparsified coef_ is 2-D even for one output.
        if (1, *coef_shape)[-2:] != (1, *old_shape)[-2:]:
            raise ValueError(
                f"warm_start=True but y gives coefficients of shape {coef_shape}, not the "
                f"fitted model's {old_shape} (another number of outputs). "
                "Set warm_start=False to fit a new model."
            )

    # --- training ------------------------------------------------------------------

    def _transaction(self, work, *args):
        """Run ``work(*args)``, which returns the fitted attributes, then publish them.

        Validation sets ``n_features_in_``, ``feature_names_in_``, ``classes_``
        on the estimator as it goes; if the call does not complete (any
        exception, ``KeyboardInterrupt`` included), the estimator's ``__dict__``
        is put back exactly as it was, so nothing is half-updated.
        """
        before = dict(self.__dict__)
        try:
            fitted, reset, after = work(before, *args)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise
        self._publish(fitted, reset)
        after()
        return self

    def _publish(self, fitted, reset):
        """Write every fitted attribute in one step.

        ``fitted`` holds the trained ones; those that validation set on the
        estimator (``n_features_in_``, ``classes_``...) are already there.
        With ``reset`` (a new model), fitted attributes of an earlier model
        that this one does not have are dropped.
        """
        if reset:
            for name in _fitted_names(self):
                if name not in fitted and name not in self._validated:
                    del self.__dict__[name]
        curves = ("loss_curve_", "learning_rate_curve_", "validation_score_curve_")
        if not reset:  # a stream's curves grow in place: O(1) per call
            for name in curves:
                getattr(self, name).extend(fitted.pop(name))
        self.__dict__.update(fitted)

    # What validation sets on the estimator (kept by ``_publish``).
    _validated = ("n_features_in_", "feature_names_in_", "classes_", "_single_output")

    def _fit(self, before, X, y, coef_init, intercept_init, sample_weight):
        self._check_params()
        warm = self.warm_start and "_state" in before and coef_init is None
        X, y, sample_weight = self._check_data(X, y, sample_weight, reset=not warm,
                                               finite=False)  # fmt: skip
        finite_x = _FiniteX(self, X)
        with finite_x.first():
            return self._train(before, finite_x, X, y, warm, coef_init, intercept_init,
                               sample_weight)  # fmt: skip

    def _defer_finite(self, finite_x, trainer, sw, steps_taken):
        """Leave the test that ``X`` is finite to the trainer's first epoch where its raw
        predictions prove it (``Trainer.input_check``): the compiled loop, every row
        trained (no zero weight), no callback shown ``X`` before; else test now."""
        n = len(sw)
        try:
            compiled = trainer._compiled(n, trainer.batch_size_for(n), steps_taken)
        except CompileError:  # engine='numba' raises it where it did, in the first epoch
            compiled = False
        if compiled and sw.min() > 0 and not getattr(self, "_skl_callbacks", None):
            trainer.input_check = finite_x
        else:
            finite_x()

    def _train(self, before, finite_x, X, y, warm, coef_init, intercept_init, sample_weight):
        """``fit`` on validated data whose finiteness ``finite_x`` has yet to test."""
        Y, sw = self._encode_target(y, sample_weight, X.dtype, first=True, partial=False)
        if warm:
            self._check_warm_target(before, (Y.shape[1], X.shape[1] + 1))
        loss = self._make_loss()
        scale = self._target_scale(Y, sw, loss)
        gain = self._gain(scale, loss)  # objective on y = gain * objective on y / s
        trainer = self._trainer(loss, X.shape[0], scale=scale)
        seed = _seed(self.random_state)

        if self.early_stopping:
            train, val = self._validation_split(X.shape[0], y, seed)
            if not self.shuffle:  # train the kept rows in the data's order
                train = np.sort(train)
            X_val, Y_val, sw_val = X[val], Y[val], sw[val]
            finite_x.part(X_val)  # rows no epoch trains on
            validation = (X_val, Y_val, y[val], sw_val, self._scorer())
            X, Y, y, sw = X[train], Y[train], y[train], sw[train]
            for part, weights in (("training", sw), ("validation", sw_val)):
                if not weights.sum() > 0:
                    raise ValueError(
                        f"The {part} part of the early-stopping split has zero total "
                        "sample_weight: give its rows weight, or change "
                        "validation_fraction or random_state."
                    )

        rng = np.random.default_rng(seed)
        theta = self._initial_theta(X.shape[1], Y, sw, loss, warm=warm, coef_init=coef_init,
                                    intercept_init=intercept_init, scale=scale)  # fmt: skip
        state = trainer.init_state(theta)
        state.y_scale = scale
        Y = Y / scale if scale != 1.0 else Y  # validation rows stay in the units of y
        steps_per_epoch = trainer.steps_per_epoch(X.shape[0])
        monitor = Monitor.for_fit(self, trainer, X.shape[0], self.learning_rate,
                                  objective=not self.early_stopping,
                                  keep_best=self.restore_best_weights)  # fmt: skip
        constant = np.zeros_like(theta)  # the best constant model: init='baseline''s start
        if self.fit_intercept:
            constant[:, -1] = trainer.loss.baseline(Y, sw)
        start = trainer.objective_at(theta, X, Y, sw)
        # init='baseline' starts at the constant model (y / s is exact: s is a power of 2);
        # else its objective, a pass over the rows, is taken only if the check needs it.
        at_constant = start if np.array_equal(theta, constant) else (
            lambda: trainer.objective_at(constant, X, Y, sw))  # fmt: skip
        divergence = DivergenceCheck(start, at_constant, self._divergence_patience(monitor),
                                     trainer.schedule)  # fmt: skip
        curves = {"loss_curve_": [], "learning_rate_curve_": [], "validation_score_curve_": []}
        self._defer_finite(finite_x, trainer, sw, 0)
        callbacks = _Callbacks(self, X, y, sample_weight=None if sample_weight is None else sw)
        stopped = False
        n_bound = 0
        # With nothing to decide or show between epochs (no stop, no step-size cut, no
        # look at each epoch's weights), the compiled loop runs several epochs per call,
        # recorded below one by one: on small data a call costs as much as an epoch.
        ahead = []
        independent = (
            self.tol is None
            and not (self.early_stopping or self.restore_best_weights or self.verbose)
            # without tol, 'adaptive' and 'auto' never cut: their steps are constant
            and isinstance(plateau_of(trainer.schedule), (type(None), Adaptive, Auto))
            and not getattr(self, "_skl_callbacks", None)
        )
        if independent and trainer.average_per_epoch and trainer.average_start and sw.min() > 0:
            # average='auto' starts each epoch's average afresh, and here nothing reads
            # the weights between epochs: only the last epoch's average is published.
            last_epoch = (self.max_iter - 1) * steps_per_epoch + 1  # all its batches step
            trainer.average_start = max(trainer.average_start, last_epoch)
        exact = monitor.exact_value  # fixed for the fit
        for i in range(self.max_iter):
            tic = time.perf_counter()
            progress = callbacks.epoch_begin(state, steps_per_epoch)
            if not ahead:
                at_once = 1
                if independent:
                    at_once = trainer.epochs_at_once(X.shape[0], Y.shape[1], self.max_iter - i)
                if at_once > 1:
                    ahead = trainer.run_epochs(state, X, Y, sw, rng, at_once)[::-1]
                else:
                    ahead = [trainer.run_epoch(state, X, Y, sw, rng, progress)]
            objective, lr, bound = ahead.pop()
            n_bound += bound
            if divergence.update(objective)[0]:  # the training objective, whatever is monitored
                raise self._divergence_error(divergence, gain)
            curves["loss_curve_"].append(objective * gain)
            curves["learning_rate_curve_"].append(lr)
            # The monitor reads y / s: the same tol (and epochs) in any units of y.
            monitored = objective
            if exact:
                # 'auto' on stochastic batches: the objective at the weights that
                # predict (the epoch's average), one pass; the epoch's running
                # objective mixes the batches' noise into every decision. The weights
                # change no more if this is the last epoch: it is the final objective.
                monitored = trainer.objective_at(state.weights, X, Y, sw)
            if self.early_stopping:
                score = self._validation_score(self._in_y_units(state.weights, state), loss,
                                               *validation)  # fmt: skip
                curves["validation_score_curve_"].append(score)
                monitored = -score / gain if self.scoring == "loss" else -score
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
            if callbacks.epoch_end(state):  # a callback asked to stop
                stopped = True
            if stopped:
                break
        if not stopped and self.tol is not None and self.max_iter > 1:
            self._warn_max_iter(monitor)
        if stopped and monitor.stopped_short:
            warnings.warn(
                f"Training stopped after {state.epoch} epochs on a plateau rule (tol="
                f"{self.tol}, n_iter_no_change={self.n_iter_no_change}) while the objective "
                "was still decreasing at every epoch: it may be far from the optimum. "
                "Use schedule='auto' (the default), a larger learning_rate, or a smaller tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        # Judged at the weights the run ended with (before any restore): an overflow,
        # or a run-away that a stopping rule or max_iter ended before it overflowed.
        # With an exact monitor, its last pass was at these very weights: not again.
        final = trainer.check_final(state, X, Y, sw, monitored if exact else None)
        step_fraction = curves["learning_rate_curve_"][-1] / trainer.learning_rate
        if divergence.end(final, step_fraction=step_fraction)[0]:
            raise self._divergence_error(divergence, gain, end=True)
        if self.restore_best_weights and monitor.best_weights is not None:
            state.theta, state.avg, state.n_avg = monitor.best_weights
            if not exact:  # else their objective is monitor.best: finite
                trainer.check_final(state, X, Y, sw)
        self._warn_safe_steps(n_bound, state.t)
        seed = int(rng.integers(np.iinfo(np.int32).max))
        fitted = self._fitted(state, curves, seed, best_epoch=monitor.best_epoch)
        return fitted, True, callbacks.finish

    def _warn_max_iter(self, monitor):
        """Say that ``fit`` ran out of epochs before ``tol`` stopped it, with advice
        that can help: a schedule whose horizon is ``max_iter`` (``CosineAnnealing()``)
        was meant to run them all, and only a descent still going is news."""
        if monitor.min_epochs >= self.max_iter:
            if monitor.converged_at_end:
                return
            advice = (
                "the schedule anneals over max_iter epochs and the objective still fell "
                "by more than tol at its end: increase max_iter (the anneal stretches "
                "with it) or learning_rate"
            )
        else:
            advice = "increase max_iter, or a larger learning_rate may get there sooner"
        warnings.warn(
            f"Maximum number of epochs ({self.max_iter}) reached before the convergence "
            f"criterion (tol={self.tol}, n_iter_no_change={self.n_iter_no_change}) was "
            f"met, so the weights may be short of the optimum: {advice}.",
            ConvergenceWarning,
            stacklevel=6,
        )

    @with_callbacks
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit the model by gradient descent over ``max_iter`` epochs at most.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input samples.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values.
        coef_init : array-like of shape (n_outputs, n_features), default=None
            The coefficients to start from (as scikit-learn's SGD takes them),
            instead of ``init`` and ``warm_start``.
        intercept_init : array-like of shape (n_outputs,), default=None
            The intercept to start from.
        sample_weight : array-like of shape (n_samples,), default=None
            Each batch's gradient is the ``sample_weight``-weighted mean of the
            per-sample gradients.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._transaction(self._fit, X, y, coef_init, intercept_init, sample_weight)

    def _partial_fit(self, X, y, sample_weight, classes=None):
        """``partial_fit`` of both estimators: one epoch, published in one step."""
        return self._transaction(self._partial_epoch, X, y, sample_weight, classes)

    def _partial_epoch(self, before, X, y, sample_weight, classes):
        first = "_state" not in before
        # A stream of small chunks calls partial_fit thousands of times, where
        # scikit-learn's parameter validation costs more than the step: check
        # on the first call and after any set_params (scikit-learn's own
        # partial_fit checks only the first call).
        params, checked = self._param_values(), before.get("_checked_params")
        if first or checked is None or any(map(operator.is_not, params, checked)):
            self._check_params()
            self._checked_params = params
        if self.early_stopping:
            raise ValueError(
                "early_stopping=True is not supported by partial_fit, which runs one "
                "epoch without a validation split (as in scikit-learn's SGD): set "
                "early_stopping=False, or use fit."
            )
        X, y, sample_weight = self._check_data(X, y, sample_weight, reset=first, finite=False)
        finite_x = _FiniteX(self, X)
        with finite_x.first():
            return self._partial_train(before, finite_x, first, X, y, sample_weight, classes)

    def _partial_train(self, before, finite_x, first, X, y, sample_weight, classes):
        """``partial_fit`` on validated data whose finiteness ``finite_x`` has yet to test."""
        Y, sw = self._encode_target(
            y, sample_weight, X.dtype, first=first, partial=True, classes=classes
        )
        loss = self._make_loss()
        # The stream keeps the scale of its first call (init='baseline').
        scale = (
            self._target_scale(Y, sw, loss) if first else getattr(before["_state"], "y_scale", 1.0)
        )
        trainer = self._trainer(loss, X.shape[0], streaming=True, scale=scale)
        if first:
            seed = _seed(self.random_state)
            theta = self._initial_theta(X.shape[1], Y, sw, loss, warm=False, scale=scale)
            state = trainer.init_state(theta)
            state.y_scale = scale
        else:
            seed, state = before["_seed"], before["_state"].copy()
            self._check_stream(state, trainer)
        Y = Y / scale if scale != 1.0 else Y
        # One generator per call, from the stored seed and the call's position:
        # pickling between calls then changes nothing.
        rng = np.random.default_rng([seed, state.epoch])
        self._defer_finite(finite_x, trainer, sw, state.t)
        tic = time.perf_counter()
        objective, lr, n_bound = trainer.run_epoch(state, X, Y, sw, rng)
        trainer.check_final(state, X, Y, sw)
        self._warn_safe_steps(n_bound, len(sw))
        gain = self._gain(scale, loss)
        curves = {"loss_curve_": [objective * gain], "learning_rate_curve_": [lr],
                  "validation_score_curve_": []}  # fmt: skip
        if self.verbose:
            self._print_epoch(state.epoch, curves, time.perf_counter() - tic)
        return self._fitted(state, curves, seed, best_epoch=None), first, lambda: None

    def _divergence_patience(self, monitor):
        """Epochs in a row far above the start that ``fit`` takes for a divergence: a
        plateau schedule's patience before its first cut, then ``n_iter_no_change``
        epochs for the cut step to bring the objective back."""
        return getattr(monitor, "patience", self.n_iter_no_change) + self.n_iter_no_change

    def _divergence_error(self, check, gain, end=False):
        """The ``DivergenceError`` of a finite run-away (``DivergenceCheck``, one model)."""
        onset, epoch, run = int(check.onset[0]), check.epoch, int(check.run[0])
        value, reference = float(check.value[0]) * gain, float(check.reference[0]) * gain
        if end:
            how = f"the fit ended there, at {value:.4g} after epoch {epoch}"
        else:
            how = f"stayed there for {run} epochs (at {value:.4g} in epoch {epoch})"
        return DivergenceError(
            f"Training diverged in epoch {onset} with learning_rate={self.learning_rate}: "
            f"the objective rose above {DIVERGENCE_FACTOR:g} times the larger of its values "
            f"at the start weights and at the best constant model ({reference:.4g}), and "
            f"{how}, not coming down. Use a smaller learning_rate, scale the features "
            "(e.g. StandardScaler), or set clip_norm."
        )

    def _check_stream(self, state, trainer):
        """Refuse, before any step, parameter changes a running stream cannot take."""
        optimizer = type(trainer.optimizer).__name__
        changed = None
        if len(state.opt_state) != len(trainer.optimizer.slots) or state.optimizer != optimizer:
            changed = f"optimizer (the stream's state belongs to {state.optimizer})"
        elif state.average != self.average:
            changed = f"average (the stream was trained with average={state.average!r})"
        elif state.fit_intercept != self.fit_intercept:
            changed = f"fit_intercept (the stream was trained with {state.fit_intercept})"
        if changed:
            raise ValueError(
                f"partial_fit cannot continue this stream after a change of {changed}. "
                "Set the parameter back, or start a new model with fit (or a fresh "
                "estimator)."
            )

    def _warn_safe_steps(self, n_bound, n_steps):
        """Say once per call that ``safe_steps`` took smaller steps than asked."""
        if n_bound:
            warnings.warn(
                f"safe_steps bound {n_bound} of {n_steps} steps to the curvature of "
                f"their row: learning_rate={self.learning_rate} would overshoot those "
                "rows. Scale the features, lower learning_rate, or set "
                "safe_steps=False to take every step as given.",
                UserWarning,
                stacklevel=6,
            )

    def _fitted(self, state, curves, seed, *, best_epoch):
        """The fitted attributes of a successful run, to be published in one step."""
        # What a later partial_fit must not change (``_check_stream``).
        state.optimizer = type(resolve_optimizer(self.optimizer)).__name__
        state.average, state.fit_intercept = self.average, self.fit_intercept
        return {
            "_state": state,
            "_seed": seed,
            **self._coef_attributes(self._in_y_units(state.weights, state).copy()),
            "n_iter_": state.epoch,
            "t_": state.t,
            **curves,
            "best_epoch_": best_epoch,
        }

    def _coef_attributes(self, weights):
        """``coef_`` and ``intercept_`` as the public attributes hold them."""
        return {"coef_": weights[:, :-1], "intercept_": weights[:, -1]}

    def _scorer(self):
        """The scorer for ``scoring`` (None for 'loss' and None, scored from raw predictions)."""
        if self.scoring is None or self.scoring == "loss":
            return None
        return check_scoring(self, scoring=self.scoring)

    def _validation_score(self, weights, loss, X, Y, y, sw, scorer):
        """The early-stopping score of ``weights`` on the validation rows (higher is better).

        'loss' and None are computed from the raw predictions. A scorer is
        called on a light copy of the estimator holding ``weights``: the
        fitted attributes of the estimator itself are written only at the end.
        Weights are passed to it only when they differ (a custom callable need
        not take ``sample_weight``).
        """
        if scorer is None:
            coef, intercept = weights[:, :-1], weights[:, -1]
            if self.scoring == "loss":  # in chunks of rows: not (n, K) raw scores at once
                value = 0.0
                for part in row_chunks(X, Y.shape[1]):
                    raw = self._raw(rows_of(X, part), coef, intercept)
                    value += float(sw[part] @ loss.value(Y[part], raw))
                return -value / float(sw.sum())
            return self._score_raw(self._raw(X, coef, intercept), Y, sw)
        view = copy.copy(self)
        view.__dict__.update(self._coef_attributes(weights.copy()))
        view.__dict__.pop("feature_names_in_", None)  # X is already an array here
        kwargs = {} if np.all(sw == sw[0]) else {"sample_weight": sw}
        return float(scorer(view, X, y, **kwargs))

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
        coef = self.coef_ if sparse.issparse(self.coef_) else np.atleast_2d(self.coef_)
        return self._raw(X, coef, np.atleast_1d(self.intercept_))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # --- persistence ---------------------------------------------------------------

    # The fitted lists of one number per epoch.
    _curves = ("loss_curve_", "learning_rate_curve_", "validation_score_curve_")

    def __getstate__(self):
        """The attributes, the sklearn-gd version that saved them, and the training
        state as a plain dict: skops then loads it without a private type to trust.

        The curves travel as arrays: skops writes each number of a list as its own
        entry, which made the file of a 200-epoch fit over 20 times its pickle.
        """
        from . import __version__

        state = dict(super().__getstate__(), _sklearn_gd_version=__version__)
        if "_state" in state:
            state["_state"] = dict(vars(state["_state"]))
        for name in self._curves:
            if isinstance(state.get(name), list):
                state[name] = np.asarray(state[name], dtype=np.float64)
        return state

    def __setstate__(self, state):
        """Warn when another sklearn-gd version saved the model; rebuild the training state."""
        from . import __version__
        from ._engine import TrainState
        from .exceptions import InconsistentVersionWarning

        state = dict(state)
        saved = state.pop("_sklearn_gd_version", "unknown")
        if saved != __version__:
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    current_version=__version__,
                    original_version=saved,
                ),
                stacklevel=2,
            )
        if isinstance(state.get("_state"), dict):
            train_state = object.__new__(TrainState)
            train_state.__dict__.update(state["_state"])
            state["_state"] = train_state
        for name in self._curves:
            if isinstance(state.get(name), np.ndarray):
                state[name] = state[name].tolist()
        super().__setstate__(state)


class _FiniteX:
    """scikit-learn's test that ``X`` is finite, run once: deferred from validation to
    ``fit``'s first epoch, where it is free.

    A row's raw prediction ``x . w + b`` is finite only if ``x`` is: a NaN term makes
    the sum NaN, an infinite one makes it infinite (or NaN, as ``inf * 0`` is), whatever
    the weights. The compiled loop sums every term of every row it trains (CSR: every
    stored value), so when the first epoch trains every row, finite raw predictions
    prove ``X`` finite; where they are not, this test runs and raises the very error
    validation raised (or, ``X`` being finite, lets the divergence checks speak).
    """

    def __init__(self, estimator, X):
        self.X, self.name, self.pending = X, type(estimator).__name__, True

    def __call__(self, proven=False):
        """The full test, unless it ran or the first epoch has ``proven`` ``X`` finite:
        the error ``validate_data`` gives."""
        if self.pending:
            self.pending = False
            if not proven:
                assert_all_finite(self.X, estimator_name=self.name, input_name="X")

    def part(self, rows):
        """Test the rows ``rows`` of ``X`` now (the validation split: never trained on);
        if they are not finite, the full test gives the message (NaN before inf)."""
        if self.pending:
            try:
                assert_all_finite(rows, estimator_name=self.name, input_name="X")
            except ValueError:
                self()

    @contextlib.contextmanager
    def first(self):
        """Any error while ``X`` is not known finite yields to ``X``'s own, as a full
        validation, testing ``X`` before anything else, would have raised it."""
        try:
            yield
        except Exception:
            if self.pending:
                try:
                    self()
                except ValueError as exc:
                    raise exc from None
            raise


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
        # Epochs open subtasks only for callbacks to see: with none, they cost as much
        # as a small epoch (650 rows) and tell no one.
        self.watched = bool(getattr(estimator, "_skl_callbacks", None))

    def _attributes(self, weights):
        return self.estimator._coef_attributes(weights.copy())

    def epoch_begin(self, state, n_batches):
        """Open the epoch's subtask; for a long epoch, return the progress
        hooks that ``run_epoch`` calls around each tenth of its batches."""
        if self.root is None or not self.watched:
            return None
        self.state = state
        # Splitting the epoch costs a few calls into the compiled loop: only
        # when a callback is there to see the parts.
        self.segments = 10 if n_batches >= LONG_EPOCH_BATCHES else 0
        self.epoch = self.root.subcontext(task_name="epoch", max_subtasks=self.segments)
        self.epoch.call_on_fit_task_begin(
            estimator=self.estimator,
            reconstruction_attributes=self._attributes(
                self.estimator._in_y_units(state.weights, state)
            ),
            **self.data,
        )
        return self if self.segments else None

    def begin(self):
        self.part = self.epoch.subcontext(task_name="batches")
        self.part.call_on_fit_task_begin(estimator=self.estimator)

    def end(self):
        self.part.call_on_fit_task_end(estimator=self.estimator)

    def epoch_end(self, state):
        """Report the epoch's end (the weights of ``state`` in the units of y); True
        when a callback asks to stop."""
        if self.root is None or not self.watched:
            return False
        weights = self.estimator._in_y_units(state.weights, state)
        return bool(self.epoch.call_on_fit_task_end(
            estimator=self.estimator, reconstruction_attributes=self._attributes(weights),
            **self.data,
        ))  # fmt: skip

    def finish(self):
        if self.root is not None:
            self.root.call_on_fit_task_end(
                estimator=self.estimator, reconstruction_attributes={}, **self.data
            )
