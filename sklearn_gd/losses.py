"""Pointwise losses on raw predictions.

A loss sees only the encoded target ``y`` and the raw prediction ``raw`` (both
of shape ``(n_samples, n_outputs)``), as scikit-learn's ``sklearn._loss`` does.
``value`` returns the per-sample loss summed over outputs, ``gradient`` its
derivative with respect to ``raw``. A loss with an inverse link
(``inverse_link``) turns raw predictions into the predicted mean or
probabilities.

Classification targets are encoded as ``+1/-1`` (binary, one-vs-rest) or
one-hot (multinomial). Definitions follow scikit-learn so that our objective
``sum(sw * loss) / sum(sw) + alpha * R(w)`` maps exactly onto its solvers:
half squared error, half Poisson deviance, pinball loss, squared hinge without
a half.

``curvature`` is an upper bound on the second derivative of the loss in
``raw`` (``None`` when unbounded or not smooth); the engine uses it to bound
the step of optimizers that are not scale-free.
"""

import numpy as np
from scipy.special import expit, logsumexp, softmax, xlogy


class Loss:
    """Base class: a loss on raw predictions."""

    curvature = None
    inverse_link = None

    def __init__(self, epsilon=0.1, quantile=0.5):
        self.epsilon = epsilon
        self.quantile = quantile

    def value(self, y, raw):
        """Per-sample loss, summed over outputs: shape ``(n_samples,)``."""
        return self._pointwise(y, raw).sum(axis=1)

    def gradient(self, y, raw):
        """Derivative of the per-sample loss with respect to ``raw``."""
        raise NotImplementedError

    def baseline(self, y, sw):
        """A constant raw prediction per output to start ``fit`` from.

        It is the best constant where one has a closed form (the weighted mean
        for squared error, quantiles for the pinball losses, log-mean and
        log-odds for the log links); robust losses start at the weighted median.
        """
        return np.average(y, axis=0, weights=sw)

    def _pointwise(self, y, raw):
        raise NotImplementedError


# --- regression -------------------------------------------------------------


def _weighted_quantile(y, sw, q):
    """Per-column weighted ``q``-quantile (lower) of ``y``."""
    out = np.empty(y.shape[1])
    for k in range(y.shape[1]):
        order = np.argsort(y[:, k], kind="stable")
        cum = np.cumsum(sw[order])
        out[k] = y[order[np.searchsorted(cum, q * cum[-1])], k]
    return out


class _RobustLoss(Loss):
    def baseline(self, y, sw):
        return _weighted_quantile(y, sw, 0.5)


class SquaredError(Loss):
    """Half squared error ``(raw - y)**2 / 2``."""

    curvature = 1.0

    def _pointwise(self, y, raw):
        return 0.5 * (raw - y) ** 2

    def gradient(self, y, raw):
        return raw - y


class Huber(_RobustLoss):
    """Huber: ``r**2 / 2`` for ``|r| <= epsilon``, else ``epsilon * (|r| - epsilon / 2)``."""

    curvature = 1.0

    def _pointwise(self, y, raw):
        r = np.abs(raw - y)
        eps = self.epsilon
        return np.where(r <= eps, 0.5 * r**2, eps * (r - 0.5 * eps))

    def gradient(self, y, raw):
        return np.clip(raw - y, -self.epsilon, self.epsilon)


class EpsilonInsensitive(_RobustLoss):
    """``max(0, |raw - y| - epsilon)``, the SVR loss."""

    def _pointwise(self, y, raw):
        return np.maximum(np.abs(raw - y) - self.epsilon, 0.0)

    def gradient(self, y, raw):
        r = raw - y
        return np.where(np.abs(r) > self.epsilon, np.sign(r), 0.0).astype(raw.dtype)


class SquaredEpsilonInsensitive(Loss):
    """``max(0, |raw - y| - epsilon)**2``."""

    curvature = 2.0

    def _pointwise(self, y, raw):
        return np.maximum(np.abs(raw - y) - self.epsilon, 0.0) ** 2

    def gradient(self, y, raw):
        r = raw - y
        return 2.0 * np.sign(r) * np.maximum(np.abs(r) - self.epsilon, 0.0)


class AbsoluteError(_RobustLoss):
    """``|raw - y|``."""

    def _pointwise(self, y, raw):
        return np.abs(raw - y)

    def gradient(self, y, raw):
        return np.sign(raw - y)


class Quantile(Loss):
    """Pinball loss: ``q * (y - raw)`` if ``y > raw``, else ``(1 - q) * (raw - y)``."""

    def baseline(self, y, sw):
        return _weighted_quantile(y, sw, self.quantile)

    def _pointwise(self, y, raw):
        q = self.quantile
        r = y - raw
        return np.where(r > 0, q * r, (q - 1) * r)

    def gradient(self, y, raw):
        q = self.quantile
        return np.where(y > raw, -q, 1.0 - q).astype(raw.dtype)


class Poisson(Loss):
    """Half Poisson deviance with log link: ``exp(raw) - y*raw + y*log(y) - y``."""

    inverse_link = staticmethod(np.exp)

    def baseline(self, y, sw):
        mean = np.average(y, axis=0, weights=sw)
        return np.log(np.maximum(mean, np.finfo(float).tiny))

    def _pointwise(self, y, raw):
        return np.exp(raw) - y * raw + xlogy(y, y) - y

    def gradient(self, y, raw):
        return np.exp(raw) - y


# --- classification -----------------------------------------------------------


class BinaryLogLoss(Loss):
    """``log(1 + exp(-y * raw))`` with ``y`` in ``{-1, +1}``; sigmoid link."""

    curvature = 0.25

    def baseline(self, y, sw):
        p = np.clip(np.average(y > 0, axis=0, weights=sw), 1e-12, 1 - 1e-12)
        return np.log(p / (1.0 - p))

    def _pointwise(self, y, raw):
        return np.logaddexp(0.0, -y * raw)

    def gradient(self, y, raw):
        return -y * expit(-y * raw)

    @staticmethod
    def inverse_link(raw):
        p = expit(raw)
        return np.hstack([1.0 - p, p])


class MultinomialLogLoss(Loss):
    """Cross-entropy of ``softmax(raw)`` against one-hot ``y``.

    The Hessian ``diag(p) - p p^T`` has spectral norm at most 1/2.
    """

    curvature = 0.5

    def baseline(self, y, sw):
        log_prior = np.log(np.clip(np.average(y, axis=0, weights=sw), 1e-12, None))
        return log_prior - log_prior.mean()

    def value(self, y, raw):
        return logsumexp(raw, axis=1) - (y * raw).sum(axis=1)

    def gradient(self, y, raw):
        return softmax(raw, axis=1) - y

    @staticmethod
    def inverse_link(raw):
        return softmax(raw, axis=1)


class _MarginLoss(Loss):
    """Margin losses start from zero, as scikit-learn's SGD does."""

    def baseline(self, y, sw):
        return np.zeros(y.shape[1])


class Hinge(_MarginLoss):
    """``max(0, 1 - y * raw)``."""

    def _pointwise(self, y, raw):
        return np.maximum(1.0 - y * raw, 0.0)

    def gradient(self, y, raw):
        return np.where(y * raw < 1.0, -y, 0.0)


class Perceptron(_MarginLoss):
    """``max(0, -y * raw)``."""

    def _pointwise(self, y, raw):
        return np.maximum(-y * raw, 0.0)

    def gradient(self, y, raw):
        return np.where(y * raw <= 0.0, -y, 0.0)


class SquaredHinge(_MarginLoss):
    """``max(0, 1 - y * raw)**2``."""

    curvature = 2.0

    def _pointwise(self, y, raw):
        return np.maximum(1.0 - y * raw, 0.0) ** 2

    def gradient(self, y, raw):
        return -2.0 * y * np.maximum(1.0 - y * raw, 0.0)


class ModifiedHuber(_MarginLoss):
    """Squared hinge for ``y*raw >= -1``, linear ``-4*y*raw`` below (smoothed hinge)."""

    curvature = 2.0

    def _pointwise(self, y, raw):
        z = y * raw
        return np.where(z >= -1.0, np.maximum(1.0 - z, 0.0) ** 2, -4.0 * z)

    def gradient(self, y, raw):
        z = y * raw
        return np.where(z >= -1.0, -2.0 * y * np.maximum(1.0 - z, 0.0), -4.0 * y)

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
