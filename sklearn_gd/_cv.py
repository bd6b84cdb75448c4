"""GDClassifierCV and GDRegressorCV: a learning-rate (and alpha) search in one pass.

Every model of the search, one per (learning rate, alpha, fold), is a block of
rows of one weight array ``theta`` of shape ``(n_models, K, n_features + 1)``.
The batches are drawn from the order of the full data, the same for every
model; a batch's rows are read once, and one matrix product ``X_B Theta^T``
gives the raw predictions of all models. Each model weighs the rows of its own
fold's training part (held-out rows weigh 0 for it), normalises its gradient by
its own training rows as one ``fit`` on them would, steps with its own rate,
and stops on its own rule (a ``Monitor`` each); a stopped model leaves the
active set and costs nothing further. With ``search='halving'`` the grid
points also race (successive halving, as ``HalvingGridSearchCV`` with the
batches as the resource): after 1 / factor**2 and 1 / factor of the first
epoch's batches (where every model has seen enough rows by then,
``_first_epoch_rungs``), then at epochs 1, factor, factor**2, ... each active
model is scored on its held-out fold (``_scorer``: one product per fold for
the default scores) and all but the best 1 / factor of the grid points stop;
the last one left stops too, as the refit trains it. A rung within an epoch
splits its batches: the epoch runs up to the rung, the losers leave, and the
survivors run the rest of it.

With full batches each model takes exactly the steps of the base estimator's
``fit`` on its training fold (``_step`` mirrors ``Trainer._numpy_loop``). With
mini-batches the data's batch holds ``batch_size * n / n_train`` rows, so that
each model sees about ``batch_size`` of its training rows per step and takes as
many steps per epoch as that ``fit`` would.

Where the mini-batch epochs run: ``_step`` in NumPy (the reference, and the
fallback for rules numba cannot compile), or ``_search_loop.search_epoch``
compiled, which ``_kernel`` binds to the same loss, rule and penalty functions
as the single fit's loop (one file filled the same way, ``search=True``). The
choice follows the base estimator's ``engine`` (``_compiled``). Either way the
epoch's objective is evaluated afterwards from each row's raw predictions, and
the monitors, the step-size schedules and the divergence check
(``_diverged``) run in Python once an epoch.
"""

import copy
import inspect
import warnings
from itertools import groupby, product
from numbers import Integral, Real
from types import SimpleNamespace

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone, is_classifier
from sklearn.metrics import check_scoring, r2_score
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._base import _seed
from ._classifier import GDClassifier
from ._compat import Interval, StrOptions
from ._engine import DivergenceError, _int32_indices, use_compiled
from ._kernel import CompileError, compilable, run_compiled, warn_once
from ._regressor import GDRegressor
from ._shuffle import shuffle
from ._stopping import DivergenceCheck, Monitor
from .losses import as_matrix
from .optimizers import Optimizer
from .penalties import cumulative_l1, soft_threshold

# A halving rung within the first epoch needs every model to have taken this many
# steps on this many of its training rows (see ``_first_epoch_rungs``).
_RUNG_MIN_STEPS = 20
_RUNG_MIN_ROWS = 1000

# Attributes of the refitted model that the search exposes as its own.
_EXPOSED = (
    "coef_",
    "intercept_",
    "n_iter_",
    "t_",
    "loss_curve_",
    "learning_rate_curve_",
    "validation_score_curve_",
    "best_epoch_",
)


def _grid_values(values, centre, name, positive):
    """The searched values: an int ``n`` gives ``centre * 10**linspace(-2, 2, n)``."""
    if isinstance(values, Integral) and not isinstance(values, bool):
        if not centre > 0:
            raise ValueError(
                f"{name}={values} asks for values log-spaced around {name[:-1]}={centre}, "
                f"which must then be > 0; pass the values of {name} explicitly."
            )
        return (
            centre * 10.0 ** np.linspace(-2.0, 2.0, values)
            if values > 1
            else np.array([float(centre)])
        )
    allowed = "> 0" if positive else ">= 0"
    try:
        grid = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):  # strings, ragged lists: not numbers
        grid = np.array([np.nan])
    below = np.any(grid <= 0) if positive else np.any(grid < 0)
    if grid.ndim != 1 or len(grid) == 0 or not np.all(np.isfinite(grid)) or below:
        raise ValueError(
            f"{name} must be an int or a non-empty 1-D array of finite values {allowed}; "
            f"got {values!r}."
        )
    return grid


class _Grid:
    """The active models of a search: their weights, optimizer state and rules.

    Everything is an array over the active models (first axis), so that models
    that stop are dropped by indexing every array with the survivors.
    """

    def __init__(self, theta, opt_state, fold, lr, l2, l1, average_start, models, cumulative):
        self.theta = theta
        self.opt_state = opt_state
        self.fold = fold
        self.lr = lr
        self.l2 = l2
        self.l1 = l1
        self.average_start = average_start
        self.models = models  # index of each active model in the grid
        n = len(fold)
        self.t = np.zeros(n, dtype=np.int64)
        self.lr_scale = np.ones(n)
        self.avg = np.zeros_like(theta) if average_start.any() else None
        self.n_avg = np.zeros(n, dtype=np.int64)
        self.any_l2, self.any_l1 = bool(l2.any()), bool(l1.any())
        # One-row steps take the L1 part as a cumulative penalty (``cumulative_l1``).
        self.l1_state = (np.zeros_like(theta), np.zeros_like(theta)) if cumulative else None
        self.penalty_sum = np.zeros(n)  # the epoch's sum_B sw(B) * alpha R(w_B)
        self.all_averaging = False
        self._derived()

    def _derived(self):
        """Arrays derived from the others, renewed when models leave."""
        A, K, D = self.theta.shape
        self.grad = np.empty_like(self.theta)
        self.buffer = np.empty_like(self.theta)  # one temporary of each step, reused
        mask = np.ones(D, dtype=self.theta.dtype)
        mask[-1] = 0.0  # the intercept column is not penalised
        self.coef_mask = np.tile(mask, K)
        self.l2_mask = self.l2[:, None, None] * mask

    def keep(self, mask):
        """Drop the models where ``mask`` is False."""
        for name in ("theta", "fold", "lr", "l2", "l1", "average_start", "models", "t",
                     "lr_scale", "n_avg", "penalty_sum"):  # fmt: skip
            setattr(self, name, getattr(self, name)[mask])
        self.opt_state = tuple(s[mask] for s in self.opt_state)
        if self.l1_state is not None:
            self.l1_state = tuple(s[mask] for s in self.l1_state)
        if self.avg is not None:
            self.avg = self.avg[mask]
        self._derived()

    @property
    def averaging(self):
        """Whether every model's average has begun (then each step adds to it)."""
        return bool(np.all((self.average_start > 0) & (self.t >= self.average_start)))

    @property
    def weights(self):
        """The weights that predict: each model's average once its averaging has begun."""
        if self.avg is None:
            return self.theta
        return np.where((self.n_avg > 0)[:, None, None], self.avg, self.theta)


def _step(grid, trainer, Xb, Yb, scale, live, lr, batch_weight, sq=None, fold_rows=None):
    """One batch for every active model; mirrors ``Trainer._numpy_loop``'s step.

    ``Xb`` holds the batch's rows; on mini-batches (``fold_rows`` None) with a
    last column of ones (zeros without ``fit_intercept``), so that one product
    with ``theta`` gives the raw predictions and one the whole gradient.
    ``scale`` (rows, models) holds each model's weight of the batch's rows (0 off
    its training fold) over its normaliser ``|B_train| * mean(sw_train)``;
    ``live`` says which models step (None: all; a batch without training
    weight is skipped, as ``run_epoch`` skips it), ``lr`` their scheduled step
    sizes, ``batch_weight`` their training weight in the batch (which weighs
    the penalty of the curve, taken at the weights the batch steps from),
    ``sq`` the rows' curvature bound ``c * ||x~||^2`` when ``safe_steps``
    applies, and ``fold_rows``, on the full batch, each fold's training rows.
    Returns the raw predictions, (rows, models * K).
    """
    theta = grid.theta
    A, K, D = theta.shape
    flat = theta.reshape(A * K, D)  # a view: theta is C-contiguous
    grad = grid.grad
    dense = not sparse.issparse(Xb)
    if fold_rows is None:
        raw = Xb @ flat.T if dense else np.asarray(Xb @ flat.T)
    else:
        # The full batch, once an epoch: the base fit's exact sums (see below).
        raw = np.asarray(Xb @ theta[:, :, :-1].reshape(A * K, D - 1).T)
        if trainer.fit_intercept:
            raw += flat[:, -1]
    b = raw.shape[0]
    raw3 = raw.reshape(b, A, K)
    loss = trainer.loss
    if loss.rowwise:
        d = loss.gradient(np.repeat(Yb, A, axis=0), raw.reshape(b * A, K)).reshape(b, A, K)
    else:
        d = loss.gradient(Yb[:, None, :], raw3)
    d *= scale[:, :, None]
    d2 = d.reshape(b, A * K)
    grad2 = grad.reshape(A * K, D)
    if fold_rows is None:
        if dense:
            np.matmul(d2.T, Xb, out=grad2)
        else:
            grad2[...] = (Xb.T @ d2).T
    else:
        grad[:, :, :-1] = (d2.T @ Xb if dense else (Xb.T @ d2).T).reshape(A, K, D - 1)
        if not trainer.fit_intercept:
            grad[:, :, -1] = 0.0
        else:
            # Sum each model's intercept gradient over its own training rows in the
            # order the fit on them sums ``d.sum(axis=0)``: pairwise for one output
            # (a contiguous column), row after row for several. At the baseline start
            # this sum is rounding noise, which Adam's first step divides by eps.
            for f, rows_f in enumerate(fold_rows):
                on = grid.fold == f
                if K == 1:
                    grad[on, 0, -1] = np.ascontiguousarray(d[rows_f, :, 0][:, on].T).sum(axis=1)
                else:
                    grad[on, :, -1] = d[rows_f][:, on].sum(axis=0)
    if grid.any_l2 or grid.any_l1:  # the curve's penalty, at the weights stepped from
        sq_theta = np.multiply(theta, theta, out=grid.buffer).reshape(A, K * D)
        penalty = 0.5 * grid.l2 * (sq_theta @ grid.coef_mask) if grid.any_l2 else 0.0
        if grid.any_l1:
            abs_theta = np.abs(theta, out=grid.buffer).reshape(A, K * D)
            penalty = penalty + grid.l1 * (abs_theta @ grid.coef_mask)
        grid.penalty_sum += batch_weight * penalty
    if sq is not None:  # safe_steps: the step within 1 / L of the model's rows
        curvature = lr * (sq @ scale)
        lr = lr / np.maximum(curvature, 1.0)
    if trainer.optimizer.linear and grid.any_l2:
        # Past lr * l2 = 1 the shrink (1 - lr * l2) would flip the sign: the base
        # fit clamps it at 0, which is stepping from coef = 0 (its L2 term then 0).
        clamp = lr * grid.l2 > 1.0
        if live is not None:
            clamp &= live
        if clamp.any():
            theta[clamp, :, :-1] = 0.0
    if grid.any_l2:  # l2 * [coef, 0]
        grad += np.multiply(theta, grid.l2_mask, out=grid.buffer)
    if trainer.clip_norm is not None:
        norm = np.sqrt(np.einsum("akd,akd->a", grad, grad))
        over = norm > trainer.clip_norm
        grad[over] *= (trainer.clip_norm / norm[over])[:, None, None]
    every = live is None
    idx = slice(None) if every else np.flatnonzero(live)
    theta_s = theta if every else theta[idx]
    state_s = grid.opt_state if every else tuple(s[idx] for s in grid.opt_state)
    grid.t[idx] += 1
    t = grid.t[:, None, None] if every else grid.t[idx][:, None, None]
    lr3 = lr[idx][:, None, None]
    opt = trainer.optimizer
    if opt.decoupled_decay:  # decoupled decay before the step, as in the base fit
        theta_s[:, :, :-1] *= 1.0 - lr3 * opt.decoupled_decay
    if grid.rule is None:  # an optimizer with its own step()
        opt.step(theta_s, grad if every else grad[idx], state_s, lr3, t)
    else:  # Optimizer.step, with the hyperparameters read once per fit
        new_theta, new_state = grid.rule(theta_s, grad if every else grad[idx], state_s, lr3, t,
                                         grid.hyper)  # fmt: skip
        theta_s[...] = new_theta
        for slot, new in zip(state_s, new_state, strict=True):
            slot[...] = new
    if grid.any_l1:
        step = opt.effective(state_s, lr3, t, opt.hyper) * np.ones_like(theta_s)
        coef_l = theta_s[:, :, :-1]
        l1 = grid.l1[idx][:, None, None]
        if grid.l1_state is None:
            coef_l[...] = soft_threshold(coef_l, l1 * step[:, :, :-1])
        else:
            u, q = (s[idx] for s in grid.l1_state)
            u += l1 * step
            coef_l[...], q[:, :, :-1] = cumulative_l1(coef_l, u[:, :, :-1], q[:, :, :-1])
            if not every:
                grid.l1_state[0][idx], grid.l1_state[1][idx] = u, q
    if grid.avg is not None and every and grid.all_averaging:
        grid.n_avg += 1
        diff = np.subtract(theta, grid.avg, out=grid.buffer)
        diff *= (1.0 / grid.n_avg)[:, None, None]
        grid.avg += diff
    elif grid.avg is not None:
        start = grid.average_start[idx]
        on = (start > 0) & (grid.t[idx] >= start)
        if on.any():
            n_avg = grid.n_avg[idx] + on
            grid.n_avg[idx] = n_avg
            avg = grid.avg[idx]
            weight = np.where(on, 1.0 / np.maximum(n_avg, 1), 0.0)[:, None, None]
            avg += (theta_s - avg) * weight
            if not every:
                grid.avg[idx] = avg
    if not every:
        theta[idx] = theta_s
        for s, new in zip(grid.opt_state, state_s, strict=True):
            s[idx] = new
    return raw


def _refits(search):
    """Whether the search has a refitted model to predict with (as ``GridSearchCV``'s
    methods, absent with ``refit=False``)."""
    if not search.refit:
        raise AttributeError(
            f"This {type(search).__name__} has refit=False: no model is refitted on all "
            "the data to predict with. Use refit=True."
        )
    return True


class _BaseGDCV(BaseEstimator):
    """Shared logic of the CV searches; not for direct use."""

    _estimator_class = None

    def _base_params(self):
        """The parameters of the base estimator, as set on this search."""
        names = self._estimator_class().get_params(deep=False)
        params = {name: getattr(self, name) for name in names}
        params["scoring"] = None  # the search's scoring is GridSearchCV's, not early stopping's
        return params

    def _check_search_params(self):
        self._validate_params()
        for name in ("early_stopping", "restore_best_weights", "warm_start"):
            if getattr(self, name):
                raise ValueError(
                    f"{type(self).__name__} does not support {name}=True: every model of "
                    "the search trains on its fold's training rows from a cold start and "
                    "stops on its training objective. Use GridSearchCV over "
                    f"{self._estimator_class.__name__}({name}=True) instead."
                )
        learning_rates = _grid_values(
            self.learning_rates, self.learning_rate, "learning_rates", positive=True
        )
        alphas = (
            np.array([float(self.alpha)])
            if self.alphas is None
            else _grid_values(self.alphas, self.alpha, "alphas", positive=False)
        )
        return [(float(lr), float(a)) for lr, a in product(learning_rates, alphas)]

    def fit(self, X, y, sample_weight=None, groups=None):
        """Train every (learning rate, alpha, fold) model in one pass, then refit the best.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in training (each model's gradient is the
            weighted mean over its fold's training rows) and in the refit; the
            scores on the held-out folds are unweighted, as in ``GridSearchCV``.
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group-aware ``cv`` splitter.

        Returns
        -------
        self : object
            The fitted search.
        """
        grid = self._check_search_params()
        proto = self._estimator_class(**self._base_params())
        proto._check_params()
        X_in, y_in = X, y
        X, y, sw = proto._check_data(X, y, sample_weight, reset=True)
        Y, _ = proto._encode_target(y, sw, X.dtype, first=True, partial=False)
        Y = as_matrix(Y)  # the search reads the (n, K) matrix (multiclass: from labels)
        folds = list(check_cv(self.cv, y, classifier=is_classifier(self)).split(X, y, groups))

        models = [(g, f) for g in range(len(grid)) for f in range(len(folds))]
        # Every model trains on y / s with the refit's scale s (see the base estimator's
        # "Units"), so that a learning rate means the same step in the search and the refit.
        y_scale = proto._target_scale(Y, sw, proto._make_loss())
        score = self._scorer(proto, X, y, Y, folds, grid, models, X_in, y_in)
        weights, n_iter, curves, diverged, scores, dropped = self._search(
            proto, X, y, Y, sw, folds, grid, models, y_scale, score
        )
        scores = scores.reshape(len(grid), len(folds)).T.copy()
        if np.isnan(scores).all():
            raise DivergenceError(
                "Every model of the search diverged: the loss, the weights or the optimizer "
                "state became non-finite, or the objective ran away (as GD*.fit's "
                "DivergenceError says). Use smaller learning_rates or scale the features."
            )
        failed = np.isnan(scores).any(axis=0)
        if failed.any():
            warnings.warn(
                f"{int(np.isnan(scores).sum())} of {scores.size} models diverged and score "
                f"NaN (ranked last): (learning_rate, alpha) = "
                f"{[grid[g] for g in np.flatnonzero(failed)]}.",
                UserWarning,
                stacklevel=2,
            )
        # Everything is published at the end, so that a failed fit (in the refit,
        # say) leaves the estimator as it was.
        fitted = self._results(grid, folds, scores, n_iter, dropped)
        grid_weights = weights.reshape(len(grid), len(folds), *weights.shape[1:]).swapaxes(0, 1)
        fitted["coef_grid_"] = grid_weights[..., :-1]
        fitted["intercept_grid_"] = grid_weights[..., -1]
        fitted["n_iter_grid_"] = n_iter
        fitted["loss_curve_grid_"] = [
            [curves[g * len(folds) + f] for g in range(len(grid))] for f in range(len(folds))
        ]
        for name in ("n_features_in_", "feature_names_in_", "classes_"):
            if hasattr(proto, name):
                fitted[name] = getattr(proto, name)
        if self.refit:
            best = clone(proto).set_params(**fitted["best_params_"])
            fitted["best_estimator_"] = best.fit(X_in, y_in, sample_weight=sample_weight)
            for name in _EXPOSED:
                fitted[name] = getattr(best, name)
        for name in ("best_estimator_", "feature_names_in_", *_EXPOSED):
            self.__dict__.pop(name, None)  # from an earlier fit
        self.__dict__.update(fitted)
        return self

    @staticmethod
    def _results(grid, folds, scores, n_iter, dropped):
        """``scores_``, ``cv_results_`` and the choice, ranked as ``GridSearchCV`` ranks
        (with ``search='halving'``: the grid points still in the race at its end first,
        then those dropped, the later first; ``dropped``: the epochs each had trained
        when dropped, fractions within the first, 0 for none)."""
        mean = scores.mean(axis=0)
        ranked = np.where(np.isnan(mean), -np.inf, mean)
        stage = np.where(dropped == 0, np.inf, dropped)
        stage[np.isnan(mean)] = -np.inf  # a race's last point, if it diverged, too
        # Rank 1 for the best, ties sharing the smallest rank; NaN (diverged) last.
        better = (stage[None, :] > stage[:, None]) | (
            (stage[None, :] == stage[:, None]) & (ranked[None, :] > ranked[:, None])
        )
        rank = (better.sum(axis=1) + 1).astype(np.int32)
        best = int(np.argmin(rank))
        results = {
            "param_learning_rate": np.array([lr for lr, _ in grid]),
            "param_alpha": np.array([a for _, a in grid]),
            "params": [{"learning_rate": lr, "alpha": a} for lr, a in grid],
        }
        for k in range(len(folds)):
            results[f"split{k}_test_score"] = scores[k]
        results["mean_test_score"] = mean
        results["std_test_score"] = scores.std(axis=0)
        results["rank_test_score"] = rank
        results["mean_n_iter"] = n_iter.mean(axis=0)
        results["dropped_at_epoch"] = dropped
        return {
            "scores_": scores,
            "cv_results_": results,
            "best_index_": best,
            "best_params_": results["params"][best],
            "best_score_": float(mean[best]),
            "learning_rate_": grid[best][0],
            "alpha_": grid[best][1],
            "n_splits_": len(folds),
        }

    def _scorer(self, proto, X, y, Y, folds, grid, models, X_in, y_in):
        """``score(ms, weights)``: the held-out score of the models ``ms`` (indices into
        ``models``) at ``weights`` (theirs, (len(ms), K, n_features + 1), in y's units),
        as ``GridSearchCV`` scores a fit. The default scores (accuracy, R^2) of the
        package's own estimators are taken from one product per fold for all its models;
        other scorers call the scorer on a model each, with the rows of the data as
        given (``X_in``, ``y_in``: a DataFrame's slice, as ``GridSearchCV`` passes)."""
        fast = self.scoring is None and type(proto) in (GDClassifier, GDRegressor)
        loss = proto._make_loss()
        scorer = None if fast else check_scoring(proto, self.scoring if self.scoring != "loss"
                                                 else None)  # fmt: skip
        fold_of = np.array([f for _, f in models])

        def one(m, w):
            g, f = models[m]
            test = folds[f][1]
            if self.scoring == "loss":
                raw = proto._raw(X[test], w[:, :-1], w[:, -1])
                return -float(np.mean(loss.value(Y[test], raw)))
            model = clone(proto).set_params(learning_rate=grid[g][0], alpha=grid[g][1])
            model.__dict__.update(proto._coef_attributes(w.copy()))
            for name in ("classes_", "_single_output", "n_features_in_", "feature_names_in_"):
                if hasattr(proto, name):
                    setattr(model, name, getattr(proto, name))
            return scorer(model, _safe_indexing(X_in, test), _safe_indexing(y_in, test))

        def score(ms, weights):
            out = np.empty(len(ms))
            if not fast:
                for j, m in enumerate(ms):
                    out[j] = one(m, weights[j])
                return out
            for f in np.unique(fold_of[ms]):
                sel = np.flatnonzero(fold_of[ms] == f)
                test = folds[f][1]
                w = weights[sel]
                A, K, D = w.shape
                raw = safe_sparse_dot(X[test], w[:, :, :-1].reshape(A * K, D - 1).T,
                                      dense_output=True)  # fmt: skip
                raw = (raw + w[:, :, -1].reshape(-1)).reshape(len(test), A, K)
                if is_classifier(proto):  # GDClassifier.predict, every model at once
                    index = (raw[:, :, 0] > 0).astype(int) if K == 1 else raw.argmax(axis=2)
                    out[sel] = (proto.classes_[index] == y[test][:, None]).mean(axis=0)
                else:  # RegressorMixin.score: r2_score, uniform over the outputs
                    pred = proto._inverse_link(raw.reshape(len(test), A * K))
                    truth = np.tile(np.reshape(y[test], (len(test), -1)), (1, A))
                    with np.errstate(over="ignore", invalid="ignore"):  # a run-away's
                        r2 = r2_score(truth, pred, multioutput="raw_values")
                    out[sel] = r2.reshape(A, K).mean(axis=1)
            return out

        return score

    def _search(self, proto, X, y, Y, sw, folds, grid, models, y_scale, score):
        """Train all ``models`` ((grid index, fold index) pairs) together, on ``Y / y_scale``.

        Returns each model's final weights (K, n_features + 1), its epochs run
        as an (n_folds, n_grid) array, its training-objective curve, whether it
        diverged, its held-out score (``score``; NaN where it diverged) at those
        weights, and the epochs (fractions within the first) after which
        ``search='halving'`` dropped each grid point (0: never).
        """
        n, F, M = X.shape[0], len(folds), len(models)
        # Each fold's weights as one fit on its training rows would have them
        # (class_weight='balanced' counts the fold's own classes).
        W = np.zeros((F, n), dtype=sw.dtype)
        member = np.zeros((F, n), dtype=np.int64)
        # Without class weights a classifier's fold weighs its rows by sample_weight alone:
        # only its classes need checking (re-encoding each fold costs a sort of its labels).
        plain = hasattr(proto, "classes_") and proto.class_weight is None
        labels = np.searchsorted(proto.classes_, y) if plain else None
        for f, (train, _) in enumerate(folds):
            if plain:
                W[f, train] = sw[train]
                present = np.bincount(labels[train], minlength=len(proto.classes_)) > 0
                complete = bool(present.all())
            else:
                part = clone(proto)
                _, W[f, train] = part._encode_target(y[train], sw[train], X.dtype, first=True,
                                                     partial=False)  # fmt: skip
                classes = getattr(proto, "classes_", None)
                complete = classes is None or np.array_equal(part.classes_, classes)
            if not complete:
                raise ValueError(
                    f"The training part of fold {f} lacks some of the classes "
                    f"{proto.classes_.tolist()!r}; use a cv splitter that keeps every class "
                    "in every training part (e.g. StratifiedKFold)."
                )
            if not W[f].sum() > 0:
                raise ValueError(f"The training part of fold {f} has zero total sample_weight.")
            member[f, train] = 1
        n_train = member.sum(axis=1)
        # Summed over the training rows alone, in their order, as their fit sums them.
        mean_weight = np.array([float(W[f, train].sum()) for f, (train, _) in enumerate(folds)])
        mean_weight /= n_train

        loss = proto._make_loss()
        # One estimator per grid point for its trainer: a clone of the unfitted prototype,
        # copied (cloning each, parameters and all, costs a fit's worth of time).
        template = clone(proto)
        estimators = [copy.copy(template) for _ in grid]
        for est, (lr, a) in zip(estimators, grid, strict=True):
            est.learning_rate, est.alpha = lr, a
        trainers = [est._trainer(loss, int(n_train.min()), scale=y_scale) for est in estimators]
        trainer = trainers[0]  # what the grid shares: loss, optimizer, schedule, batching
        b = trainer.batch_size_for(int(n_train.min()))
        full = b >= n_train.min()
        rows_per_batch = n if full else min(n, max(1, round(b * n / n_train.mean())))

        K, D = Y.shape[1], X.shape[1] + 1
        # Each fold's start (``init`` and ``fit_intercept`` are the grid's, not a point's).
        first = [template._initial_theta(X.shape[1], Y[train], W[f, train], loss, warm=False,
                                         scale=y_scale)
                 for f, (train, _) in enumerate(folds)]  # fmt: skip
        theta = np.array(first)[[f for _, f in models]]
        gain = proto._gain(y_scale, loss)  # the objective on y over the objective on y / s
        Y = Y / y_scale if y_scale != 1.0 else Y
        opt = trainer.optimizer
        state = _Grid(
            theta,
            trainer.optimizer.init(theta),
            fold=np.array([f for _, f in models]),
            lr=np.array([grid[g][0] for g, _ in models]),
            l2=np.array([trainers[g].penalty.l2 for g, _ in models]),
            l1=np.array([trainers[g].penalty.l1 for g, _ in models]),
            average_start=np.array(
                [estimators[g]._average_start(int(n_train[f]), b, False) for g, f in models]
            ),  # fmt: skip
            models=np.arange(M),
            cumulative=b == 1 and any(t.penalty.l1 for t in trainers),
        )
        state.rule = opt.rule if type(opt).step is Optimizer.step else None
        state.hyper = opt.hyper
        # safe_steps: each row's curvature bound, when the base fit would bound its steps.
        sq = trainer._safe_rows(X, int(n_train.min()))
        contexts = [trainers[g].context for g in range(len(grid))]
        monitors = [
            Monitor.for_fit(
                self,
                trainers[g],
                int(n_train[f]),
                grid[g][0],
                objective=True,
                keep_best=False,
            )
            for g, f in models
        ]
        # The base fit's divergence rule, per model: against the larger of the objective
        # at the start and of the best constant model, on the model's training rows.
        # Built when the first epoch ends: a race decided within it never reads it.
        initial = SimpleNamespace(fold=state.fold, l2=state.l2, l1=state.l1, models=state.models,
                                  theta=theta.copy())  # fmt: skip

        def divergence_check():
            constant = np.zeros_like(initial.theta)
            if self.fit_intercept:
                baselines = [trainer.loss.baseline(Y[train], W[f, train])
                             for f, (train, _) in enumerate(folds)]  # fmt: skip
                constant[:, :, -1] = np.array(baselines)[initial.fold]
            return DivergenceCheck(
                self._distinct_objectives(initial, trainer.loss, X, Y, W, initial.theta),
                self._distinct_objectives(initial, trainer.loss, X, Y, W, constant),
                proto._divergence_patience(monitors[0]),
                trainer.schedule,
            )

        divergence = None
        final = np.zeros((M, K, D), dtype=Y.dtype)
        n_iter = np.zeros((F, len(grid)))
        curves = [[] for _ in range(M)]
        diverged = np.zeros(M, dtype=bool)
        scores = np.full(M, np.nan)
        dropped = np.zeros(len(grid))
        ran_away = np.zeros(len(grid), dtype=bool)  # dropped above the ceiling
        grid_of = np.array([g for g, _ in models])
        fold_rows = [train for train, _ in folds] if full else None
        rng = np.random.default_rng(_seed(self.random_state))
        order = np.arange(n)
        n_batches = -(-n // rows_per_batch)
        # Successive halving with the batches as the resource: rungs at 1 / factor**2 and
        # 1 / factor of the first epoch's batches (where enough rows have been seen,
        # ``_first_epoch_rungs``), then at epochs 1, factor, factor**2, ... (rounded up).
        # At each the grid points still racing are ranked by their mean held-out score
        # and all but the best 1 / factor (rounded up) stop, with their score there.
        racing = list(range(len(grid))) if self.search == "halving" and len(grid) > 1 else None
        splits = []
        if racing is not None and not full:
            # Rows of weight 0 are not seen (as if removed, scikit-learn's convention).
            weighted = (W > 0).sum(axis=1).min()
            splits = self._first_epoch_rungs(n_batches, rows_per_batch * weighted / n)
        checkpoint, resources = 1, 1.0

        def race(now, ok, position, objective):
            """Rank the racing grid points by their mean held-out score (``now``: the
            active models'), those with a model above the run-away ceiling (its
            ``objective`` so far) after the others, by how far above; the models of
            the points that leave stop, scored as they stand (a fit above the ceiling
            may still come down: Adam at 10 with alpha 0.1 on breast cancer is 6x
            above it after an epoch, and converges). The winner's stop too, as the
            refit trains it, unless above the ceiling: then they train on to their
            own end and the base rule judges them (on raw breast cancer, Adam at
            2.15 led the held-out accuracy at epoch 3 at 100x its start objective,
            and its refit raised). Returns which active models stop."""
            nonlocal racing
            current = scores.copy()
            current[state.models] = now
            mean = current.reshape(len(grid), F).mean(axis=1)
            mean = np.where(np.isnan(mean), -np.inf, mean)
            excess = objective / divergence.ceiling[state.models]
            excess = np.where(ok & ~np.isnan(excess), excess, np.inf)
            worst = np.zeros(len(grid))
            np.maximum.at(worst, grid_of[state.models], excess)
            ranked = sorted(racing, key=lambda g: (worst[g] > 1, worst[g] if worst[g] > 1
                                                   else -mean[g]))  # fmt: skip
            racing = ranked[: int(np.ceil(len(racing) / self.factor))]
            dropped[ranked[len(racing) :]] = position
            ran_away[ranked[len(racing) :]] = worst[ranked[len(racing) :]] > 1
            stop = ok & ~np.isin(grid_of[state.models], racing)
            if len(racing) == 1:  # the winner
                stop = ok & ((grid_of[state.models] != racing[0]) | (worst[racing[0]] <= 1))
                racing = None
            return stop

        def objective_over(plan, raws, r):
            """Each active model's objective over the epoch's first ``r`` rows (``raws``
            in the data's row order when compiled, ``plan is None``; else in the
            epoch's, with ``plan``'s targets and weights)."""
            if plan is not None:
                return self._objectives(state, trainer.loss, plan.Y[:r], plan.W[:, :r], raws[:r])
            rows = order[:r] if r < n else slice(None)
            return self._objectives(state, trainer.loss, Y[rows], W[:, rows], raws[rows])

        def record(stop, position, now=None):
            """Keep the final weights, epochs and held-out scores of the models ``stop``
            (scored here unless ``now`` has them), and drop them from the active set."""
            weights = state.weights
            for a in np.flatnonzero(stop):
                m = state.models[a]
                final[m] = weights[a]
                g, f = models[m]
                n_iter[f, g] = position
            fresh = stop & ~diverged[state.models]
            scores[state.models[fresh]] = (
                now[fresh] if now is not None
                else score(state.models[fresh], weights[fresh] * y_scale)
            )  # fmt: skip
            state.keep(~stop)

        # Every model has training weight in every batch when each fold's held-out part
        # (and zero-weight rows) is shorter than every batch: then no epoch need look for
        # batches a model skips, and the step counts of a grid point's folds agree.
        short = n - rows_per_batch * (n_batches - 1)
        positive = bool(np.all(W[member.astype(bool)] > 0))
        every_live = full or (positive and min(rows_per_batch, short) > n - int(n_train.min()))
        compiled = self._compiled(trainer, loss, full, state, n_batches * self.max_iter)
        kernel = None
        X_steps = X
        if compiled:  # the compiled epoch reads X's rows in place, C order or CSR
            X_steps = X.tocsr() if sparse.issparse(X) else np.ascontiguousarray(X)
            W_rows, member_rows = np.ascontiguousarray(W.T), np.ascontiguousarray(member.T)
            buffer = np.empty(n * M * K, dtype=Y.dtype)  # the raw predictions of an epoch
        elif not full:  # mini-batches: X with the intercept's column (see _step)
            ones = np.full((n, 1), float(self.fit_intercept), dtype=X.dtype)
            X_steps = (
                sparse.hstack([X, ones], format="csr")
                if sparse.issparse(X)
                else np.hstack([X, ones])
            )
        for epoch in range(1, self.max_iter + 1):
            if not full and self.shuffle:
                shuffle(rng, order)
            starts = np.arange(0, n, rows_per_batch)
            live = None
            if not every_live:
                batch_weight = np.add.reduceat(W[:, order], starts, axis=1)  # (folds, batches)
                live = (batch_weight > 0)[state.fold]  # (models, batches)
            lrs = self._rates(state, trainer, contexts, models, live, epoch, starts,
                              rows_per_batch)  # fmt: skip
            if self.average == "auto":
                state.n_avg[:] = 0
            A = len(state.models)
            # Each row's raw predictions at its step, rows first (compiled: in the data's
            # row order; NumPy: in the epoch's). Rows of a batch no model steps on keep 0
            # (weighted 0, and finite: 0 * NaN is NaN); the compiled epoch writes them all.
            if compiled:
                raws = buffer[: n * A * K].reshape(n, A * K)
            else:
                raws = (np.empty if live is None or live.all() else np.zeros)((n, A * K), Y.dtype)
            state.penalty_sum[:] = 0.0
            plan = None
            bounds = [0, *(splits if epoch == 1 else []), n_batches]
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                for j0, j1 in zip(bounds[:-1], bounds[1:], strict=True):
                    if compiled:
                        kernel = self._compiled_epoch(
                            state, trainer, X_steps, Y, W_rows, member_rows, mean_weight, sq,
                            order, starts[j0:j1], rows_per_batch, lrs[j0:j1], kernel, raws,
                        )  # fmt: skip
                        compiled = kernel is not None  # else nothing ran: NumPy from here
                        if not compiled:  # NumPy's raws: 0 where no model steps
                            raws.fill(0.0)
                    if not compiled:
                        if plan is None:
                            plan = self._numpy_plan(trainer, Y, W, member, mean_weight,
                                                    sq, order, starts, rows_per_batch,
                                                    full)  # fmt: skip
                        self._numpy_batches(state, trainer, X_steps, plan, starts, j0, j1,
                                            rows_per_batch, lrs, live, fold_rows, raws)  # fmt: skip
                    if j1 == n_batches or racing is None:
                        continue
                    # A rung within the first epoch: the weights each model has now, as
                    # its fit has them after the same batches.
                    position = j1 / n_batches
                    ok = self._finite(state)
                    if divergence is None:
                        divergence = divergence_check()
                    diverged[state.models[~ok]] = True
                    now = np.full(A, np.nan)
                    now[ok] = score(state.models[ok], state.weights[ok] * y_scale)
                    stop = race(now, ok, position, objective_over(plan, raws, starts[j1])) | ~ok
                    record(stop, position, now)
                    if self.verbose:
                        print(f"-- Epoch {position:.3g}: {len(state.models)} of {M} models "
                              "still training")  # fmt: skip
                    keep = ~stop
                    A = len(state.models)
                    if not A:
                        break
                    cols = np.repeat(keep, K)
                    raws = np.ascontiguousarray(raws[:, cols])
                    lrs = np.ascontiguousarray(lrs[:, keep])
                    live = None if live is None else live[keep]
            if not len(state.models):
                break
            objective = objective_over(plan, raws, n)
            if divergence is None:
                divergence = divergence_check()
            diverged_now = self._diverged(state, objective, divergence)
            stop = diverged_now.copy()
            cut = np.zeros_like(stop)  # the models that halving stops this epoch
            now = None  # the active models' held-out scores, when taken this epoch
            if racing is not None and epoch == checkpoint:
                ok = ~diverged_now
                now = np.full(len(state.models), np.nan)
                now[ok] = score(state.models[ok], state.weights[ok] * y_scale)
                cut = race(now, ok, epoch, objective)
                resources *= self.factor
                checkpoint = max(checkpoint + 1, int(np.ceil(resources - 1e-9)))
            # The value each model's monitor reads, as a single fit's monitor reads it
            # (on y / s: the trainer's loss, as the epoch's objective); not taken for the
            # models that halving stops (their monitors are done).
            going = ~stop & ~cut
            at_weights = None  # the objective at the weights that predict, when taken
            if going.any() and monitors[state.models[0]].exact_value:
                at_weights = self._objectives_at_weights(state, trainer.loss, X, Y, W,
                                                         among=going)  # fmt: skip
            monitored = objective if at_weights is None else at_weights
            for a, m in enumerate(state.models):
                if diverged_now[a]:
                    diverged[m] = True
                    continue
                curves[m].append(gain * float(objective[a]))
                if going[a]:
                    stop[a], state.lr_scale[a] = monitors[m].update(
                        monitored[a], epoch, lambda: None, state.lr_scale[a]
                    )
            if epoch == self.max_iter:
                stop[:] = True
            ends = stop & ~diverged_now & ~cut  # the models whose own rule (or max_iter) ends
            stop |= cut
            if stop.any():
                # A model ending above the ceiling, not coming down, ran away too (as its
                # fit ends); one that halving stops is scored as it stands.
                if ends.any():
                    if at_weights is None:
                        at_weights = self._objectives_at_weights(state, trainer.loss, X, Y, W,
                                                                 among=ends)  # fmt: skip
                    at_end = at_weights[ends]
                    fraction = lrs[-1] / state.lr  # the last step, as fit's
                    diverged[state.models[ends]] |= divergence.end(at_end, state.models[ends],
                                                                   fraction[ends])  # fmt: skip
                record(stop, epoch, now)
            if self.verbose:
                print(f"-- Epoch {epoch}: {len(state.models)} of {M} models still training")
            if not len(state.models):
                break
        # Every point diverged or was dropped above the ceiling (then the winner, trained
        # on, diverged): nothing is known to train, as when every model diverges.
        if ran_away.any() and (ran_away | np.isnan(scores).reshape(len(grid), F).any(1)).all():
            scores[:] = np.nan
        return final * y_scale, n_iter, curves, diverged, scores, dropped

    @staticmethod
    def _finite(state):
        """Which active models have finite weights and optimizer slots."""
        finite = np.isfinite(state.theta).all(axis=(1, 2))
        for s in state.opt_state:
            finite &= np.isfinite(s).all(axis=(1, 2))
        return finite

    @staticmethod
    def _diverged(state, objective, divergence):
        """Which active models diverged this epoch: a non-finite objective, weight or
        optimizer slot, or a run-away objective (``DivergenceCheck``, the base fit's rule)."""
        finite = np.isfinite(objective) & _BaseGDCV._finite(state)
        return ~finite | divergence.update(objective, models=state.models)

    def _compiled(self, trainer, loss, full, state, steps):
        """Whether the search's epochs run compiled (``_search_loop.search_epoch``).

        As for the base estimator's ``engine``: 'numpy' never, 'numba' always (an
        error where the rules cannot compile), 'auto' when numba is installed, the
        rules compile and the run takes at least ``AUTO_COMPILE_STEPS`` steps. The
        full batch stays in NumPy: one step an epoch, two BLAS products either way,
        and the sums of each fold's intercept gradient in the order of its own fit.
        """
        if self.engine == "numpy" or full:
            return False
        reason = compilable(type(loss), type(trainer.optimizer), l1=bool(state.any_l1))
        return use_compiled(self.engine, reason, steps, "run this search", "searches")

    @staticmethod
    def _rates(state, trainer, contexts, models, live, epoch, starts, rows_per_batch):
        """Each active model's scheduled step size at each batch, (batches, models).

        ``live`` (models, batches) says which batches each model steps on (None: all);
        then the folds of a grid point share their step counts, and their rates."""
        n_batches = len(starts)
        steps = state.t[:, None] + (
            np.arange(1, n_batches + 1) if live is None else np.cumsum(live, axis=1)
        )
        positions = epoch - 1 + starts / rows_per_batch / n_batches
        memo, rates = {}, []
        for a in range(len(state.models)):
            g = models[state.models[a]][0]
            key = (g, int(state.t[a])) if live is None else None
            if key is None or key not in memo:
                memo[key] = trainer.schedule.rates(state.lr[a], steps[a], positions,
                                                   contexts[g])  # fmt: skip
            rates.append(memo[key])
        lrs = np.array(rates) * state.lr_scale[:, None]
        return lrs.T.copy()  # (batches, models): each batch's a contiguous row

    def _first_epoch_rungs(self, n_batches, rows_per_step):
        """The halving rungs within the first epoch, as batch counts: after
        ``1 / factor**2`` and ``1 / factor`` of its batches (rounded up), each kept
        only where every model has by then taken at least ``_RUNG_MIN_STEPS`` steps
        on at least ``_RUNG_MIN_ROWS`` of its training rows (``rows_per_step``: about
        a batch's share of them); earlier, the held-out scores rank the learning
        rates by how fast they start, not where they go."""
        out = []
        for j in (2, 1):
            at = int(np.ceil(n_batches / self.factor**j - 1e-9))
            if (at < n_batches and (not out or at > out[-1]) and at >= _RUNG_MIN_STEPS
                    and at * rows_per_step >= _RUNG_MIN_ROWS):  # fmt: skip
                out.append(at)
        return out

    def _compiled_epoch(self, state, trainer, X, Y, W_rows, member_rows, mean_weight, sq,
                        order, starts, rows, lrs, kernel, raws):  # fmt: skip
        """The batches ``starts`` (and their step sizes ``lrs``) of every active model
        in ``_search_loop.search_epoch`` (``W_rows`` and ``member_rows``: the folds'
        row weights and training rows, rows first); each row's raw predictions go to
        ``raws``, the penalty to ``state.penalty_sum``.

        Returns the kernel that ran (to try first next time), or None where the
        kernel cannot compile (then nothing has changed and the batches are left to
        NumPy, with a warning)."""
        A, K, D = state.theta.shape
        theta = state.theta.reshape(A * K, D)  # views: the kernel writes through them
        slots = tuple(s.reshape(A * K, D) for s in state.opt_state)
        u, q = (theta, theta) if state.l1_state is None else (
            s.reshape(A * K, D) for s in state.l1_state)  # fmt: skip
        avg = theta if state.avg is None else state.avg.reshape(A * K, D)
        opt, is_sparse = trainer.optimizer, sparse.issparse(X)
        data = (X.data, *_int32_indices(X)) if is_sparse else X
        args = (
            (data, D - 1, Y, W_rows, member_rows, mean_weight, state.fold,
             W_rows[:, 0] if sq is None else sq, order, starts, rows, lrs),
            (K, opt.hyper, float(trainer.loss.param), self.fit_intercept,
             float(trainer.clip_norm or 0.0), float(opt.decoupled_decay), sq is not None,
             bool(opt.linear), state.l1_state is not None, state.l2, state.l1,
             state.average_start),
            (theta, slots, u, q, avg, state.t, state.n_avg, raws, state.penalty_sum),
        )  # fmt: skip
        try:
            _, kernel = run_compiled(type(trainer.loss), type(opt), is_sparse, args, kernel,
                                     search=True)  # fmt: skip
        except CompileError as exc:  # raised before the epoch starts: nothing has changed
            if self.engine == "numba":
                raise
            warn_once(str(exc), f"engine='auto' searches in NumPy: {exc}.")
            return None
        return kernel

    def _numpy_plan(self, trainer, Y, W, member, mean_weight, sq, order, starts,
                    rows_per_batch, full):  # fmt: skip
        """What the NumPy epoch reads, per fold, in the epoch's order (its rows in their
        batch order, gathered once, so that each batch is a slice): ``Y``, ``W``, the
        rows' curvature bounds ``sq``, ``order_x`` (X's rows are gathered batch by batch:
        a copy of all of X each epoch costs more than the batches' small gathers),
        ``batch_weight`` (batches, folds) and ``scale`` (rows, folds), each row's weight
        over its batch's normaliser ``|B_train| * mean(sw_train)``."""
        n = len(order)
        order_x, Yo, Wo, member_o, sq_o = None, Y, W, member, sq
        if not full and self.shuffle:
            order_x, Yo, Wo, member_o = order, Y[order], W[:, order], member[:, order]
            sq_o = None if sq is None else sq[order]
        count = np.add.reduceat(member_o, starts, axis=1)  # (folds, batches)
        batch_weight = np.add.reduceat(Wo, starts, axis=1)  # (folds, batches)
        total = count * mean_weight[:, None]
        total[total == 0] = 1.0
        # float32 data: float32 steps.
        scale = (Wo / np.repeat(total, rows_per_batch, axis=1)[:, :n]).T.astype(Y.dtype)
        return SimpleNamespace(order_x=order_x, Y=Yo, W=Wo, sq=sq_o, scale=scale,
                               batch_weight=batch_weight.T.copy())  # fmt: skip

    def _numpy_batches(self, state, trainer, X_steps, plan, starts, j0, j1, rows_per_batch,
                       lrs, live, fold_rows, raws):  # fmt: skip
        """The batches ``j0:j1`` of the epoch (``plan``: ``_numpy_plan``) for every
        active model in NumPy, batch by batch (``_step``); each row's raw predictions
        go to ``raws``, in the epoch's order."""
        n = len(plan.Y)
        lo, hi = int(starts[j0]), (int(starts[j1]) if j1 < len(starts) else n)
        # Each active model's row weights over its normalisers, rows first: one
        # gather for the batches' rows, so that each batch's is a slice.
        scale = plan.scale[lo:hi][:, state.fold]
        batch_weight = plan.batch_weight[j0:j1][:, state.fold]  # (batches, models)
        if live is None:
            live = (batch_weight > 0).T  # (models, batches)
        else:
            live = live[:, j0:j1]
        all_live = live.all(axis=0)
        state.all_averaging = state.averaging
        for j in range(j1 - j0):
            if not all_live[j] and not live[:, j].any():
                continue
            rows = slice(int(starts[j0 + j]), int(starts[j0 + j]) + rows_per_batch)
            local = slice(rows.start - lo, rows.stop - lo)
            rows_x = rows if plan.order_x is None else plan.order_x[rows]
            raws[rows] = _step(state, trainer, X_steps[rows_x], plan.Y[rows], scale[local],
                               None if all_live[j] else live[:, j],
                               lrs[j0 + j], batch_weight[j],
                               None if plan.sq is None else plan.sq[rows],
                               fold_rows)  # fmt: skip

    @staticmethod
    def _objectives(state, loss, Y, W, raws, penalty_sum=None, chunk=1 << 13):
        """Each active model's training objective, as ``run_epoch`` returns it: loss
        and penalty over its fold's training rows, at the weights each batch stepped
        from, over their total weight (``penalty_sum``: the weighted sum of the
        penalty, by default the epoch's ``state.penalty_sum``). In chunks of ``chunk``
        values: temporaries that stay in cache (one chunk of all rows took 10x longer,
        page faults mostly)."""
        A, K = len(state.models), Y.shape[1]
        sums = np.zeros((W.shape[0], A))  # each fold's weighting of each model's values
        step = max(1, chunk // (A * K))
        for s in range(0, Y.shape[0], step):
            Ys, raw = Y[s : s + step], raws[s : s + step]
            if loss.rowwise:
                values = loss.value(np.repeat(Ys, A, axis=0), raw.reshape(-1, K))
                values = values.reshape(-1, A)
            else:
                values = type(loss).value_function(Ys[:, None, :], raw.reshape(-1, A, K),
                                                   loss.param).sum(axis=2)  # fmt: skip
            sums += W[:, s : s + step] @ values
        sums = sums[state.fold, np.arange(A)]
        if penalty_sum is None:
            penalty_sum = state.penalty_sum
        return (sums + penalty_sum) / W.sum(axis=1)[state.fold]

    def _distinct_objectives(self, state, loss, X, Y, W, weights):
        """``_objectives_at_weights`` at ``weights``, taken once for the models that
        share their fold, penalty and weights (at the start: all the models of a fold)."""
        key = np.column_stack([state.fold, state.l2, state.l1, weights.reshape(len(weights), -1)])
        _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        among = np.zeros(len(weights), dtype=bool)
        among[first] = True
        at = self._objectives_at_weights(state, loss, X, Y, W, weights, among=among)
        return at[first[inverse.ravel()]]

    def _objectives_at_weights(self, state, loss, X, Y, W, weights=None, among=None):
        """Each active model's training objective at ``weights`` (by default the
        weights that predict: its average, when averaging), over its fold's training
        rows: what ``Trainer.objective_at`` gives a single fit's monitor. ``among``
        (a mask of the active models): those alone, NaN for the others."""
        if weights is None:
            weights = state.weights
        if among is not None and not among.all():
            out = np.full(len(among), np.nan)
            few = SimpleNamespace(fold=state.fold[among], l2=state.l2[among],
                                  l1=state.l1[among], models=state.models[among])  # fmt: skip
            out[among] = self._objectives_at_weights(few, loss, X, Y, W, weights[among])
            return out
        A, K, D = weights.shape
        with np.errstate(over="ignore", invalid="ignore"):
            raws = safe_sparse_dot(X, weights[:, :, :-1].reshape(A * K, D - 1).T,
                                   dense_output=True)  # fmt: skip
            raws += weights[:, :, -1].reshape(-1)
            coef = weights[:, :, :-1]
            penalty = 0.5 * state.l2 * np.einsum("akd,akd->a", coef, coef)
            penalty += state.l1 * np.abs(coef).sum(axis=(1, 2))
            return self._objectives(state, loss, Y, W, raws, penalty * W.sum(axis=1)[state.fold])

    # --- prediction, delegated to the refitted model ------------------------------------

    def _best(self):
        check_is_fitted(self, "scores_")
        return self.best_estimator_

    @available_if(_refits)
    def predict(self, X):
        """Predict with the model refitted on all the data at the best learning rate.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            The refitted model's predictions.
        """
        return self._best().predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _has_proba(search):
    _refits(search)
    if search.loss not in ("log_loss", "modified_huber"):
        raise AttributeError(
            f"probability estimates are not available for loss={search.loss!r}; "
            "use loss='log_loss' or 'modified_huber'."
        )
    return True


_SEARCH_CONSTRAINTS = {
    "scoring": [StrOptions({"loss"}), str, callable, None],
    "learning_rates": ["array-like", Interval(Integral, 1, None, closed="left")],
    "alphas": ["array-like", Interval(Integral, 1, None, closed="left"), None],
    "cv": ["cv_object"],
    "refit": ["boolean"],
    "search": [StrOptions({"halving", "exhaustive"})],
    "factor": [Interval(Real, 1, None, closed="neither")],
}

# The search's own parameters; the base estimator's are documented by reference.
_SEARCH_DOC = {
    "learning_rates": """\
    learning_rates : int or array-like of float, default=7
        The learning rates searched. An int ``n`` gives ``n`` values spaced
        evenly in log scale over four decades around ``learning_rate``:
        ``learning_rate * 10 ** np.linspace(-2, 2, n)``.
""",
    "alphas": """\
    alphas : None, int or array-like of float, default=None
        The penalty strengths searched, crossed with ``learning_rates``. None
        keeps ``alpha``; an int ``n`` gives ``alpha * 10 ** np.linspace(-2, 2, n)``.
""",
    "cv": """\
    cv : int, cross-validation generator or iterable, default=5
        As in ``GridSearchCV``: an int is the number of folds (stratified for
        classifiers), or a splitter, or an iterable of (train, test) pairs.
""",
    "scoring": """\
    scoring : str, callable or None, default=None
        How each held-out fold is scored, as in ``GridSearchCV``: None is the
        estimator's ``score`` (%(score)s), a scorer name or a callable
        ``scorer(estimator, X, y)``; 'loss' is minus the mean held-out loss.
        It replaces the base estimator's early-stopping ``scoring``.
""",
    "search": """\
    search : {'halving', 'exhaustive'}, default='halving'
        How the grid is searched. 'exhaustive' trains every model until its
        own stopping rule (or ``max_iter``), as ``GridSearchCV`` does.
        'halving' races the grid points, as ``HalvingGridSearchCV`` with the
        batches as the resource: after ``1 / factor**2`` and ``1 / factor``
        of the first epoch's batches (each of these two rungs only where every
        model has by then taken at least 20 steps on at least 1,000 of its
        training rows, rows of weight 0 not counted), then at epochs 1,
        ``factor``, ``factor**2``, ...
        (rounded up) the grid points still in the race are ranked by their
        mean held-out score, and all but the best ``1 / factor`` of them
        (rounded up) stop training, all their folds together, keeping the
        scores they have there (``cv_results_['dropped_at_epoch']``, in
        epochs: a fraction for a rung within the first epoch). A point with
        a model above the run-away ceiling (the base estimator's divergence
        rule: ten times the larger of the objective at the start and of the
        best constant model) ranks after the others. When one grid point is
        left it has won: its models stop too, and the refit trains it on all
        the data; a winner above the ceiling trains on to its own end instead,
        judged by the divergence rule. See Notes.
""",
    "factor": """\
    factor : float > 1, default=3
        With ``search='halving'``: the batches between rungs grow, and the
        grid points kept shrink, by this factor (as in
        ``HalvingGridSearchCV``).
""",
    "refit": """\
    refit : bool, default=True
        Refit the estimator on all the data at the best learning rate and alpha.
        Prediction needs it.
""",
}
_UNSUPPORTED_DOC = """\
    %(names)s : see %(base)s
        Kept for ``clone`` and ``get_params``; ``early_stopping``,
        ``restore_best_weights`` and ``warm_start`` must stay False (a
        ``ValueError``): the search's models train from a cold start and stop
        on their training objective.
"""
_BASE_DOC = """\
    %(names)s : see %(base)s
        As in :class:`%(base)s`, with the same defaults; they set every
        model of the search and the refit. ``learning_rate`` and ``alpha`` are
        the centres of ``learning_rates`` and ``alphas`` when those are ints.
"""
_UNSUPPORTED = ("early_stopping", "validation_fraction", "restore_best_weights", "warm_start")


def _parameters_doc(search, score):
    """The Parameters section, in the order of the signature (which numpydoc checks):
    runs of the base estimator's parameters documented together by reference."""
    base = search._estimator_class.__name__
    names = list(inspect.signature(search).parameters)
    out, seen = [], set()
    for kind, run in groupby(names, lambda n: n if n in _SEARCH_DOC else n in _UNSUPPORTED):
        run = list(run)
        if isinstance(kind, str):
            out.append(_SEARCH_DOC[kind] % {"score": score})
            continue
        text = (_UNSUPPORTED_DOC if kind else _BASE_DOC) % {"names": ", ".join(run), "base": base}
        if kind in seen:  # a later run of the same kind: its first line and "As above."
            text = text.splitlines()[0] + "\n        As above.\n"
        seen.add(kind)
        out.append(text)
    return "".join(out)


_ATTRIBUTES_DOC = """\
    learning_rate_ : float
        The chosen learning rate (best mean held-out score; the first of ties).
    alpha_ : float
        The chosen alpha.
    scores_ : ndarray of shape (n_folds, n_grid)
        Held-out score of each fold (rows) and grid point (columns, in the
        order of ``cv_results_['params']``: learning rates outer, alphas inner),
        at the weights each model ended with (with ``search='halving'``: at the
        rung where its grid point left the race or won it). A model that
        diverged scores NaN and ranks last.
    cv_results_ : dict of ndarray
        As ``GridSearchCV``'s: 'params', 'param_learning_rate', 'param_alpha',
        'split{k}_test_score', 'mean_test_score', 'std_test_score',
        'rank_test_score', 'mean_n_iter' (epochs run, mean over folds) and
        'dropped_at_epoch' (the epochs trained when ``search='halving'``
        stopped the grid point, 0 if it never did: a fraction, batches run
        over the epoch's batches, for a rung within the first epoch).
    coef_grid_ : ndarray of shape (n_folds, n_grid, n_outputs, n_features)
        The weights each model of the search ended with (the average, when
        ``average`` is on), trained on its fold's training rows (for
        ``n_iter_grid_`` epochs).
    intercept_grid_ : ndarray of shape (n_folds, n_grid, n_outputs)
    n_iter_grid_ : ndarray of float of shape (n_folds, n_grid)
        Epochs each model ran (until its stopping rule, ``max_iter``, or
        the halving rung that stopped its grid point): a whole number, or
        for a rung within the first epoch the fraction of its batches run.
    loss_curve_grid_ : list of list of list of float
        ``loss_curve_grid_[k][g]``: the training objective per completed
        epoch of the model of fold ``k`` and grid point ``g``, as
        ``loss_curve_`` is for one ``fit`` (empty for a model stopped within
        its first epoch).
    best_score_ : float
        Mean held-out score of the chosen grid point (with
        ``search='halving'``, at the rung where it won the race).
    best_params_ : dict
        ``{'learning_rate': learning_rate_, 'alpha': alpha_}``.
    best_index_ : int
        Index of the chosen grid point in ``cv_results_``.
    best_estimator_ : %(base)s
        The model refitted on all the data (with ``refit=True``).
    n_splits_ : int
        Number of folds.
    coef_, intercept_, n_iter_, t_, loss_curve_, learning_rate_curve_, best_epoch_
        Those of ``best_estimator_`` (with ``refit=True``).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Defined when ``X`` has string column names.
"""

_NOTES = """
    Notes
    -----
    Every (learning rate, alpha, fold) model trains at the same time as rows
    of one weight matrix: each batch's rows are read once for all of them
    (one matrix product), each model steps with its own rate on its own
    fold's training rows (held-out rows weigh 0 for it) and stops on its own
    ``tol`` / ``n_iter_no_change`` rule, after which it costs nothing. With
    ``batch_size='full'`` each model takes exactly the steps of
    ``%(base)s(learning_rate=lr, alpha=a).fit(X[train], y[train])``: with
    ``search='exhaustive'`` it ends as that fit does; with ``search='halving'``
    it is that fit stopped after ``n_iter_grid_`` epochs (the epoch its grid
    point was dropped or won the race, if its own rule had not stopped it
    before). With mini-batches all models see the same batches, drawn from
    the full data's order and ``batch_size * n_samples / n_train`` rows long,
    so that each model steps on about ``batch_size`` of its training rows, as
    many steps per epoch as its own ``fit`` would take (a model that halving
    stops within its first epoch is then the base estimator's ``partial_fit``
    on its training rows of each batch so far, one call a batch, with a
    constant schedule). Each step follows the base estimator's
    rules: ``init``, the clamped L2 shrink of ``optimizer='sgd'``, AdamW's
    decay before the step, and with ``batch_size=1`` the cumulative L1 penalty
    and ``safe_steps`` (each model's step bounded by the curvature of its
    rows in the batch, about one). ``loss_curve_grid_`` takes the penalty at
    the weights each batch stepped from, as ``loss_curve_`` does.

    Not supported: ``early_stopping``, ``restore_best_weights`` and
    ``warm_start`` (a ``ValueError``), and ``partial_fit``.

    ``engine`` applies to the search as to the refit: with mini-batches the
    search's epochs run compiled (numba) under 'auto' when the run is long
    enough, always under 'numba', never under 'numpy'; the compiled epoch
    steps with the same loss, rule and penalty functions as the NumPy one and
    agrees with it to rounding. A rule numba cannot compile (an overridden
    ``step()``) searches in NumPy, with a warning under 'auto' and an error
    under 'numba'. Full batches always run in NumPy (one step an epoch, two
    BLAS products either way).

    Halving (``search='halving'``, the default): most epochs of an exhaustive
    search go to models that cannot win (on ``benchmarks/bench_cv.py``'s
    data the largest learning rates run 40 epochs before their stopping rule
    fires, the chosen one 23). As ``HalvingGridSearchCV`` with the batches as
    the resource, the grid points race: after ``1 / factor**2`` and
    ``1 / factor`` of the first epoch's batches, then at epochs 1,
    ``factor``, ``factor**2``, ... the ones still racing are ranked by mean
    held-out score and the best ``1 / factor`` (rounded up) go on; the
    others stop, all their folds at once, and keep the scores they have
    there. When one grid point is left it has won: its models stop too, and
    the refit trains it on all the data to its own stopping rule. A rung
    within the first epoch is kept only where every model has by then taken
    at least 20 steps on at least 1,000 of its training rows: before that
    the held-out scores rank the learning rates by how fast they start, and
    on small data (iris: 120 training rows a fold, 8 batches an epoch) a
    fraction of an epoch is a handful of rows. So on data of up to a few
    thousand rows the race starts at epoch 1, as with full batches (one step
    an epoch), and on ``bench_cv.py``'s 20,000 rows with ``batch_size=64`` it
    is decided after a third of the first epoch. ``best_score_`` and the
    winner's ``scores_`` are held-out scores after
    ``cv_results_['mean_n_iter']`` epochs, not at convergence (use
    ``search='exhaustive'`` for those); ``cv_results_['dropped_at_epoch']``
    says when each grid point left the race (0 for the points still in it at
    its end: the winner, or with ``factor < 2`` or a short ``max_iter``
    several; and for every point with ``search='exhaustive'``), and
    ``rank_test_score`` ranks the points by how long they stayed in the
    race, then by score (a point that diverged last), as
    ``HalvingGridSearchCV`` ranks the candidates of its last iteration
    first. The choice is the same as ``GridSearchCV``'s, or its
    ``GridSearchCV`` score within 0.005 of the best, on every bundled
    scikit-learn dataset (iris, wine, breast cancer, digits, diabetes with
    ``y`` as is, times 1000 and standardised; standardised features, the
    default grid and mini-batches,
    ``factor=3``) and on three synthetic sets of 12,000-20,000 rows that race
    within the first epoch with ``batch_size=16`` (with 'auto', 256 rows, the
    20,000-row one; ``bench_cv.py --agreement``), by at most 0.0031;
    ``factor=2`` failed one of them (wine, by 0.0056). A grid point whose early score is a poor
    guide to its final one (a small learning rate with a slowly falling
    loss) can be dropped too early: keep such grids to
    ``search='exhaustive'``.

    Speed: the search shares the reading of each batch between its models,
    not their arithmetic: each model still takes its own loss gradient, its
    share of the two products and its own update, some 20-30 ns per (row,
    model) pair compiled against about 50 ns a row for one compiled fit. So
    it costs about the (row, model) pairs it trains, which halving cuts to a
    fraction of the first epoch of the grid on large data. On 20,000 x 50
    rows, ``batch_size=64``, 8 learning rates x 5 folds with the refit
    (``benchmarks/bench_cv.py``, a busy 2-core machine) the halving search,
    decided after a third of the first epoch, took 2-3.5 times one fit (one
    of which is the refit; the search itself costs about one fit) and
    0.02-0.04 of the time of ``GridSearchCV`` over the same grid; the
    exhaustive one 50-85 times one fit and 0.55-0.7 of ``GridSearchCV``.
"""


class GDClassifierCV(ClassifierMixin, _BaseGDCV):
    """GDClassifier with its learning rate (and alpha) chosen by cross-validation in one pass.

    Trains every (learning rate, alpha, fold) model together, as rows of one
    weight matrix, then refits :class:`GDClassifier` on all the data at the
    grid point with the best mean held-out score. It gives the choice of
    ``GridSearchCV(GDClassifier(), {'learning_rate': ..., 'alpha': ...})``,
    reading each batch once for the whole grid (see Notes on its speed).

    Parameters
    ----------
    %(parameters)s
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    %(attributes)s
    See Also
    --------
    GDClassifier : The estimator searched.
    GDRegressorCV : The same search for regression.

    %(notes)s
    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_gd import GDClassifierCV
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> search = make_pipeline(StandardScaler(), GDClassifierCV(random_state=0)).fit(X, y)
    >>> search[-1].scores_.shape
    (5, 7)
    """

    _estimator_class = GDClassifier
    _parameter_constraints = {**GDClassifier._parameter_constraints, **_SEARCH_CONSTRAINTS}

    def __init__(
        self,
        loss="log_loss",
        *,
        penalty="l2",
        alpha=1e-3,
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
        scoring=None,
        clip_norm=None,
        average="auto",
        shuffle=True,
        warm_start=False,
        random_state=None,
        verbose=0,
        epsilon=0.1,
        engine="auto",
        safe_steps=True,
        init="zero",
        class_weight=None,
        learning_rates=7,
        alphas=None,
        cv=5,
        refit=True,
        search="halving",
        factor=3,
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
        self.class_weight = class_weight
        self.learning_rates = learning_rates
        self.alphas = alphas
        self.cv = cv
        self.refit = refit
        self.search = search
        self.factor = factor

    @available_if(_refits)
    def decision_function(self, X):
        """Raw scores of the refitted model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The refitted model's decision function.
        """
        return self._best().decision_function(X)

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Class probabilities of the refitted model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The probability of each class, in the order of ``classes_``.
        """
        return self._best().predict_proba(X)

    @available_if(_has_proba)
    def predict_log_proba(self, X):
        """Logarithm of the refitted model's class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            The log-probability of each class, in the order of ``classes_``.
        """
        return self._best().predict_log_proba(X)


class GDRegressorCV(RegressorMixin, _BaseGDCV):
    """GDRegressor with its learning rate (and alpha) chosen by cross-validation in one pass.

    Trains every (learning rate, alpha, fold) model together, as rows of one
    weight matrix, then refits :class:`GDRegressor` on all the data at the
    grid point with the best mean held-out score. It gives the choice of
    ``GridSearchCV(GDRegressor(), {'learning_rate': ..., 'alpha': ...})``,
    reading each batch once for the whole grid (see Notes on its speed).

    Parameters
    ----------
    %(parameters)s
    Attributes
    ----------
    %(attributes)s
    See Also
    --------
    GDRegressor : The estimator searched.
    GDClassifierCV : The same search for classification.

    %(notes)s
    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_gd import GDRegressorCV
    >>> X, y = load_diabetes(return_X_y=True)
    >>> search = make_pipeline(StandardScaler(), GDRegressorCV(random_state=0)).fit(X, y)
    >>> search[-1].scores_.shape
    (5, 7)
    """

    _estimator_class = GDRegressor
    _parameter_constraints = {**GDRegressor._parameter_constraints, **_SEARCH_CONSTRAINTS}

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
        scoring=None,
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
        learning_rates=7,
        alphas=None,
        cv=5,
        refit=True,
        search="halving",
        factor=3,
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
        self.quantile = quantile
        self.learning_rates = learning_rates
        self.alphas = alphas
        self.cv = cv
        self.refit = refit
        self.search = search
        self.factor = factor

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        if self.loss == "poisson":
            tags.target_tags.positive_only = True
        return tags


def _fill(doc, values):
    """``doc % values``, each value's first line indented by its placeholder's line."""
    return doc % {name: value.lstrip("\n")[4:] for name, value in values.items()}


GDClassifierCV.__doc__ = _fill(
    GDClassifierCV.__doc__,
    {
        "parameters": _parameters_doc(GDClassifierCV, "accuracy"),
        "attributes": _ATTRIBUTES_DOC % {"base": "GDClassifier"},
        "notes": _NOTES % {"base": "GDClassifier"},
    },
)
GDRegressorCV.__doc__ = _fill(
    GDRegressorCV.__doc__,
    {
        "parameters": _parameters_doc(GDRegressorCV, "R^2"),
        "attributes": _ATTRIBUTES_DOC % {"base": "GDRegressor"},
        "notes": _NOTES % {"base": "GDRegressor"},
    },
)
