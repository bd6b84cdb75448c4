"""Pointwise losses on raw predictions.

A loss sees only the encoded target ``y`` and the raw prediction ``raw`` (both
of shape ``(n_samples, n_outputs)``), as scikit-learn's ``sklearn._loss`` does.
``value`` returns the per-sample loss summed over outputs, ``gradient`` its
derivative with respect to ``raw``. The loss owns the facts the estimators need
about it: its inverse link (``inverse_link``: what ``predict`` returns for a
regression loss, the probabilities of a classification loss, None for a margin
loss without them) and the targets it accepts (``interval_y_true``, checked by
``in_y_true_range``).

Each loss's math is a pair of module-level functions ``value(y, raw, param)``
and ``gradient(y, raw, param)`` written with NumPy operations that numba also
compiles, so the optional compiled loop (``_kernel.py``) steps with the very
same gradient code (both loops evaluate an epoch's loss values afterwards, in
NumPy). ``param`` is the loss's one hyperparameter (``epsilon`` or
``quantile``). The functions are elementwise, so the compiled loop calls them
on single numbers and allocates nothing per row; a loss that couples its
outputs (softmax) sets ``rowwise`` and takes whole rows instead; for the compiled
loop it also names ``row_gradient_function(y, raw, param, out)``, the gradient of
one row written into ``out``.

Classification targets are encoded as ``+1/-1`` (binary, one-vs-rest) or
one-hot (multinomial). With more than two classes the target is held as
``Labels`` (each row's class index: O(n) memory, where the matrix is O(n * K)), which
the losses read directly. Definitions follow scikit-learn so that our objective
``sum(sw * loss) / sum(sw) + alpha * R(w)`` maps exactly onto its solvers:
half squared error, half Poisson deviance, pinball loss, squared hinge without
a half.

``curvature`` is an upper bound on the second derivative of the loss in
``raw`` (None when unbounded or not smooth); the engine uses it to bound the
step of optimizers that are not scale-free.

To add a loss: its two functions, a class naming them (and its link and target
interval, if not the identity on all reals), one registry line.
"""

import copy
from collections import namedtuple

import numpy as np
from scipy.special import expit, softmax


class Interval(namedtuple("Interval", ["low", "high", "low_inclusive", "high_inclusive"])):
    """The values a target may take, as scikit-learn's ``sklearn._loss.link.Interval``."""

    def includes(self, y):
        """Whether every value of ``y`` lies in the interval."""
        above = np.greater_equal if self.low_inclusive else np.greater
        below = np.less_equal if self.high_inclusive else np.less
        return bool(np.all(above(y, self.low)) and np.all(below(y, self.high)))

    def __str__(self):
        """The interval as a condition on ``y``, e.g. ``y >= 0`` or ``0 < y < 1``."""
        low = f"{self.low:g} {'<=' if self.low_inclusive else '<'} "
        high = f" {'<=' if self.high_inclusive else '<'} {self.high:g}"
        if self.high == np.inf:  # a lower bound reads as one: y >= 0
            if self.low == -np.inf:
                return "any real y"
            return f"y {'>=' if self.low_inclusive else '>'} {self.low:g}"
        return f"{low if self.low > -np.inf else ''}y{high}"


ALL_REALS = Interval(-np.inf, np.inf, False, False)


def identity(raw):
    """The identity link: the raw prediction is the prediction."""
    return raw


def _along_rows(values, ufunc, columns):
    """``ufunc.reduce(values, axis=1)``, column by column where a row has at most
    ``columns`` items: NumPy's reduction along short rows costs ~45 ns a row (at 3
    classes, 4x the rest of the softmax loss; a sum 12x a column-wise one)."""
    if values.ndim != 2 or values.shape[1] > columns:
        return ufunc.reduce(values, axis=1)
    out = values[:, 0].copy()
    for k in range(1, values.shape[1]):
        ufunc(out, values[:, k], out=out)
    return out


def row_max(raw):
    """Row-wise maximum as a column (the compiled loop has its own version); exact in
    any order."""
    return np.expand_dims(_along_rows(raw, np.maximum, 8), 1)


def row_sum(values):
    """Row-wise sum, equal to NumPy's to the bit: below 8 items NumPy adds a row in
    order, as the columns are added here; from 8 on it adds in pairs."""
    return _along_rows(values, np.add, 7)


def where(condition, x, y):
    """``np.where``; the compiled loop has a scalar version (numba's returns an array)."""
    return np.where(condition, x, y)


# --- the math, as plain functions --------------------------------------------------
# Elementwise: ``y`` and ``raw`` may be arrays or single numbers.


def squared_error_value(y, raw, param):
    return 0.5 * (raw - y) ** 2


def squared_error_gradient(y, raw, param):
    return raw - y


def huber_value(y, raw, eps):
    r = np.abs(raw - y)
    return where(r <= eps, 0.5 * r**2, eps * (r - 0.5 * eps))


def huber_gradient(y, raw, eps):
    return np.minimum(np.maximum(raw - y, -eps), eps)


def epsilon_insensitive_value(y, raw, eps):
    return np.maximum(np.abs(raw - y) - eps, 0.0)


def epsilon_insensitive_gradient(y, raw, eps):
    r = raw - y
    return np.sign(r) * (np.abs(r) > eps)


def squared_epsilon_insensitive_value(y, raw, eps):
    return np.maximum(np.abs(raw - y) - eps, 0.0) ** 2


def squared_epsilon_insensitive_gradient(y, raw, eps):
    r = raw - y
    return 2.0 * np.sign(r) * np.maximum(np.abs(r) - eps, 0.0)


def absolute_error_value(y, raw, param):
    return np.abs(raw - y)


def absolute_error_gradient(y, raw, param):
    return np.sign(raw - y)


def quantile_value(y, raw, q):
    r = y - raw
    return where(r > 0, q * r, (q - 1.0) * r)


def quantile_gradient(y, raw, q):
    return where(y > raw, -q, 1.0 - q)


def poisson_value(y, raw, param):
    # y * log(y) - y makes it the half deviance (zero at a perfect fit).
    return np.exp(raw) - y * raw + y * np.log(y + (y == 0)) - y


def poisson_gradient(y, raw, param):
    return np.exp(raw) - y


# Both halves are written around ``exp(-|z|)``, which never overflows.
def binary_log_value(y, raw, param):
    z = y * raw
    return np.maximum(-z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def binary_log_gradient(y, raw, param):
    z = y * raw
    e = np.exp(-np.abs(z))
    return -y * where(z > 0, e, 1.0) / (1.0 + e)


def hinge_value(y, raw, param):
    return np.maximum(1.0 - y * raw, 0.0)


def hinge_gradient(y, raw, param):
    return -y * (y * raw < 1.0)


def perceptron_value(y, raw, param):
    return np.maximum(-y * raw, 0.0)


def perceptron_gradient(y, raw, param):
    return -y * (y * raw <= 0.0)


def squared_hinge_value(y, raw, param):
    return np.maximum(1.0 - y * raw, 0.0) ** 2


def squared_hinge_gradient(y, raw, param):
    return -2.0 * y * np.maximum(1.0 - y * raw, 0.0)


def modified_huber_value(y, raw, param):
    z = y * raw
    return where(z >= -1.0, np.maximum(1.0 - z, 0.0) ** 2, -4.0 * z)


def modified_huber_gradient(y, raw, param):
    z = y * raw
    return where(z >= -1.0, -2.0 * y * np.maximum(1.0 - z, 0.0), -4.0 * y)


# Row-wise (softmax couples the outputs): ``y`` and ``raw`` are
# ``(n_samples, n_outputs)`` arrays and the value is one number per row.


def multinomial_value(y, raw, param):
    top = row_max(raw)
    log_norm = np.log(row_sum(np.exp(raw - top))) + top[:, 0]
    return log_norm - row_sum(y * raw)


def multinomial_gradient(y, raw, param):
    # In place on one temporary: a batch of many classes holds no more copies.
    e = raw - row_max(raw)
    np.exp(e, e)  # out by position: numba takes no keyword here
    e /= np.expand_dims(e.sum(axis=1), 1)
    e -= y
    return e


# The same gradient for one row (``y``, ``raw`` and ``out`` of shape ``(n_outputs,)``),
# written into ``out`` (which may be ``raw``): the compiled loop's form, which allocates
# nothing per row. The operations of ``multinomial_gradient``, in the same order.
# ``max`` is written out as the conditional expression Python's ``max(a, b)`` is: with
# numba's ``max`` here the loop kept the reference counting of this function's arrays,
# atomic operations on every row (see ``_loop.fetch``): a 4,096-row epoch of sparse
# 3-class softmax counted 4,163 increments, 66 with the expression (all per call).
def multinomial_gradient_row(y, raw, param, out):
    top = raw[0]
    for k in range(1, raw.shape[0]):
        top = raw[k] if raw[k] > top else top
    total = 0.0
    for k in range(raw.shape[0]):
        out[k] = np.exp(raw[k] - top)
        total += out[k]
    for k in range(raw.shape[0]):
        out[k] = out[k] / total - y[k]


# --- the multiclass target ------------------------------------------------------------


class Labels:
    """A multiclass target held as labels: ``index`` (the class of each row, into
    ``classes_``), standing for the ``(n, n_classes)`` matrix with ``high`` at each row's
    class and ``low`` elsewhere (one-hot for softmax, +-1 for one-vs-rest).

    It answers what the engine asks of a target (``shape``, ``dtype``, ``len`` and rows
    by ``[rows]``); the losses read the labels directly (``Loss._at``), and ``dense``
    writes the matrix of some rows where a caller needs it: the matrix of all rows is
    O(n * K) memory (770 MB at 10^5 rows and 500 classes).
    """

    def __init__(self, index, n_classes, low, high, dtype):
        # int32: half the memory, and one type for the compiled loop to be compiled for.
        self.index = np.asarray(index, dtype=np.int32)
        self.n_classes = n_classes
        self.dtype = np.dtype(dtype)
        self.low, self.high = self.dtype.type(low), self.dtype.type(high)

    @property
    def shape(self):
        return (len(self.index), self.n_classes)

    def __len__(self):
        return len(self.index)

    def __getitem__(self, rows):
        """The labels of ``rows`` (a slice, an index array or a boolean mask)."""
        return Labels(self.index[rows], self.n_classes, self.low, self.high, self.dtype)

    def dense(self):
        """The ``(len(self), n_classes)`` matrix."""
        out = np.full(self.shape, self.low, dtype=self.dtype)
        out[np.arange(len(self.index)), self.index] = self.high
        return out


def as_matrix(y):
    """The target ``y`` as the ``(n, n_outputs)`` matrix the loss functions take."""
    return y.dense() if isinstance(y, Labels) else y


# --- the classes ---------------------------------------------------------------------


def _weighted_quantile(y, sw, q):
    """Per-column weighted ``q``-quantile (lower) of ``y``."""
    out = np.empty(y.shape[1])
    for k in range(y.shape[1]):
        order = np.argsort(y[:, k], kind="stable")
        cum = np.cumsum(sw[order])
        out[k] = y[order[np.searchsorted(cum, q * cum[-1])], k]
    return out


def _weighted_sum(weights, values):
    """``sum(weights * values)`` over the positive weights: a class without rows adds
    nothing, even where its loss overflows (0 * inf would be NaN)."""
    present = weights > 0
    return float(weights[present] @ values[present])


class Loss:
    """A loss on raw predictions: its two functions, its parameter, its link and the
    targets it accepts.

    Parameters
    ----------
    epsilon : float, default=0.1
        Width of the Huber and epsilon-insensitive losses.
    quantile : float, default=0.5
        The pinball loss's quantile.
    """

    value_function = None
    gradient_function = None
    row_gradient_function = None  # rowwise losses: one row's gradient, in place
    rowwise = False
    curvature = None
    inverse_link = staticmethod(identity)
    interval_y_true = ALL_REALS
    # The degree p with loss(c*y, c*raw) = c**p * loss(y, raw) when the width
    # (epsilon) is read in the units of y too; None where no such identity holds
    # (log links, classification). The regressor trains on y / s through it.
    homogeneity = None
    # Classification: the target's value at a row's class and elsewhere, (low, high):
    # +-1 for margins and the binary log-loss, one-hot for softmax.
    label_values = (-1.0, 1.0)
    # Targets in {-1, +1} only, as a matrix too (the binary log-loss, the margins; a
    # subclass for other targets sets it back to False).
    plus_minus_one = False

    def __init__(self, epsilon=0.1, quantile=0.5):
        self.epsilon = epsilon
        self.quantile = quantile

    @property
    def param(self):
        """The hyperparameter passed to the loss functions."""
        return float(self.epsilon)

    def value(self, y, raw):
        """Per-sample loss, summed over outputs: shape ``(n_samples,)``."""
        value = self._at(type(self).value_function, y, raw)
        return value if self.rowwise else row_sum(value)

    def constant_sum(self, y, sw, raw, rows=None):
        """``sum(sw * self.value(y, raw))`` where every row's raw prediction is ``raw`` (one
        per output): a constant model's loss. A row's loss then depends on its target
        alone, so targets of a few values (classes) take a weighted sum over those
        values instead of a pass over the rows, ``rows`` classes at a time (None: all).
        None for other targets."""
        if isinstance(y, Labels):
            K = y.n_classes
            weights = np.bincount(y.index, weights=sw, minlength=K)
            classes = Labels(np.arange(K), K, y.low, y.high, y.dtype)
            step = rows or K
            return sum(_weighted_sum(weights[s : s + step],
                                     self.value(classes[s : s + step],
                                                np.broadcast_to(raw, (min(step, K - s), K))))
                       for s in range(0, K, step))  # fmt: skip
        if self.plus_minus_one:  # per output, the weights of the +1 and the -1 targets
            value = type(self).value_function
            return sum(_weighted_sum(sw @ (y == v), value(np.full_like(raw, v), raw, self.param))
                       for v in (1.0, -1.0))  # fmt: skip
        return None

    def gradient(self, y, raw):
        """Derivative of the per-sample loss with respect to ``raw``."""
        return self._at(type(self).gradient_function, y, raw)

    def _at(self, function, y, raw):
        """``function(y, raw, param)``; for ``Labels`` without their matrix: an elementwise
        function is ``function(low, raw)`` but at each row's class, where it is
        ``function(high, raw)`` (the same numbers, element by element)."""
        if not isinstance(y, Labels):
            return function(y, raw, self.param)
        out = function(y.low, raw, self.param)
        rows = np.arange(len(y))
        out[rows, y.index] = function(y.high, raw[rows, y.index], self.param)
        return out

    def in_y_true_range(self, y):
        """Whether every target in ``y`` is one this loss accepts (``interval_y_true``)."""
        return self.interval_y_true.includes(y)

    def baseline(self, y, sw):
        """A constant raw prediction per output to start ``fit`` from.

        It is the best constant where one has a closed form (the weighted mean
        for squared error, quantiles for the pinball losses, log-mean and
        log-odds for the log links); robust losses start at the weighted median.
        """
        return np.average(y, axis=0, weights=sw)

    def in_units(self, scale):
        """This loss on ``y / scale``: a copy whose width ``epsilon`` is divided by ``scale``."""
        new = copy.copy(self)
        new.epsilon = self.epsilon / scale
        return new


class SquaredError(Loss):
    """Half squared error ``(raw - y)**2 / 2``."""

    value_function = squared_error_value
    gradient_function = squared_error_gradient
    curvature = 1.0
    homogeneity = 2


class _RobustLoss(Loss):
    def baseline(self, y, sw):
        return _weighted_quantile(y, sw, 0.5)


class Huber(_RobustLoss):
    """Huber: ``r**2 / 2`` for ``|r| <= epsilon``, else ``epsilon * (|r| - epsilon / 2)``."""

    value_function = huber_value
    gradient_function = huber_gradient
    homogeneity = 2
    curvature = 1.0


class EpsilonInsensitive(_RobustLoss):
    """``max(0, |raw - y| - epsilon)``, the SVR loss."""

    value_function = epsilon_insensitive_value
    gradient_function = epsilon_insensitive_gradient
    homogeneity = 1


class SquaredEpsilonInsensitive(Loss):
    """``max(0, |raw - y| - epsilon)**2``."""

    value_function = squared_epsilon_insensitive_value
    gradient_function = squared_epsilon_insensitive_gradient
    homogeneity = 2
    curvature = 2.0


class AbsoluteError(_RobustLoss):
    """``|raw - y|``."""

    value_function = absolute_error_value
    gradient_function = absolute_error_gradient
    homogeneity = 1


class Quantile(Loss):
    """Pinball loss: ``q * (y - raw)`` if ``y > raw``, else ``(1 - q) * (raw - y)``."""

    value_function = quantile_value
    gradient_function = quantile_gradient
    homogeneity = 1

    @property
    def param(self):
        return float(self.quantile)

    def baseline(self, y, sw):
        return _weighted_quantile(y, sw, self.quantile)


class Poisson(Loss):
    """Half Poisson deviance with log link: ``exp(raw) - y*raw + y*log(y) - y``."""

    value_function = poisson_value
    gradient_function = poisson_gradient
    inverse_link = staticmethod(np.exp)
    interval_y_true = Interval(0.0, np.inf, True, False)

    def baseline(self, y, sw):
        mean = np.average(y, axis=0, weights=sw)
        return np.log(np.maximum(mean, np.finfo(float).tiny))


class BinaryLogLoss(Loss):
    """``log(1 + exp(-y * raw))`` with ``y`` in ``{-1, +1}``; sigmoid link."""

    value_function = binary_log_value
    gradient_function = binary_log_gradient
    curvature = 0.25
    plus_minus_one = True

    def baseline(self, y, sw):
        p = np.clip(np.average(y > 0, axis=0, weights=sw), 1e-12, 1 - 1e-12)
        return np.log(p / (1.0 - p))

    @staticmethod
    def inverse_link(raw):
        p = expit(raw)
        return np.hstack([1.0 - p, p])


class MultinomialLogLoss(Loss):
    """Cross-entropy of ``softmax(raw)`` against one-hot ``y``.

    The Hessian ``diag(p) - p p^T`` has spectral norm at most 1/2.
    """

    value_function = multinomial_value
    gradient_function = multinomial_gradient
    row_gradient_function = multinomial_gradient_row
    rowwise = True
    curvature = 0.5
    label_values = (0.0, 1.0)

    def _at(self, function, y, raw):
        """Softmax's value and gradient are linear in ``y`` (``-y . raw`` and ``-y``): for
        ``Labels``, those at ``y = low`` moved by ``high - low`` at each row's class."""
        if not isinstance(y, Labels):
            return function(y, raw, self.param)
        out = function(y.low, raw, self.param)
        rows, step = np.arange(len(y)), y.high - y.low
        if out.ndim == 1:  # the value, one per row
            out -= step * raw[rows, y.index]
        else:
            out[rows, y.index] -= step
        return out

    def baseline(self, y, sw):
        if isinstance(y, Labels):  # the same sums as np.average of the one-hot matrix
            prior = np.bincount(y.index, weights=sw, minlength=y.n_classes) / sw.sum()
        else:
            prior = np.average(y, axis=0, weights=sw)
        log_prior = np.log(np.clip(prior, 1e-12, None))
        return log_prior - log_prior.mean()

    @staticmethod
    def inverse_link(raw):
        return softmax(raw, axis=1)


class _MarginLoss(Loss):
    """Margin losses start from zero, as scikit-learn's SGD does, and give no
    probabilities unless they define a link."""

    inverse_link = None
    plus_minus_one = True

    def baseline(self, y, sw):
        return np.zeros(y.shape[1])


class Hinge(_MarginLoss):
    """``max(0, 1 - y * raw)``."""

    value_function = hinge_value
    gradient_function = hinge_gradient


class Perceptron(_MarginLoss):
    """``max(0, -y * raw)``."""

    value_function = perceptron_value
    gradient_function = perceptron_gradient


class SquaredHinge(_MarginLoss):
    """``max(0, 1 - y * raw)**2``."""

    value_function = squared_hinge_value
    gradient_function = squared_hinge_gradient
    curvature = 2.0


class ModifiedHuber(_MarginLoss):
    """Squared hinge for ``y*raw >= -1``, linear ``-4*y*raw`` below (smoothed hinge)."""

    value_function = modified_huber_value
    gradient_function = modified_huber_gradient
    curvature = 2.0

    @staticmethod
    def inverse_link(raw):
        # scikit-learn's SGDClassifier definition: (clip(raw, -1, 1) + 1) / 2
        # per class, normalised across classes (uniform where all are zero).
        p = (np.clip(raw, -1.0, 1.0) + 1.0) / 2.0
        if p.shape[1] == 1:
            return np.hstack([1.0 - p, p])
        total = p.sum(axis=1, keepdims=True)
        uniform = total[:, 0] == 0
        p[uniform] = 1.0 / p.shape[1]
        total[uniform] = 1.0
        return p / total


REGRESSION_LOSSES = {
    "squared_error": SquaredError,
    "huber": Huber,
    "epsilon_insensitive": EpsilonInsensitive,
    "squared_epsilon_insensitive": SquaredEpsilonInsensitive,
    "absolute_error": AbsoluteError,
    "quantile": Quantile,
    "poisson": Poisson,
}

# log_loss is binary or multinomial by the number of classes; see
# ``classification_loss``.
CLASSIFICATION_LOSSES = {
    "log_loss": BinaryLogLoss,
    "hinge": Hinge,
    "modified_huber": ModifiedHuber,
    "squared_hinge": SquaredHinge,
    "perceptron": Perceptron,
}


def classification_loss(name, n_classes):
    """The loss object for ``name`` on a problem with ``n_classes`` classes."""
    if name == "log_loss" and n_classes > 2:
        return MultinomialLogLoss()
    return CLASSIFICATION_LOSSES[name]()
