"""Update rules: one small class per optimizer.

An optimizer holds only hyperparameters (``get_params``/``set_params`` come
from :class:`~sklearn.base.BaseEstimator`, so ``clone`` and nested grid keys
such as ``optimizer__beta1`` work). Its state lives outside it, as optax does
it: ``init`` returns a tuple of arrays (the slots), and ``step`` updates
``theta`` and the slots in place from the gradient, the step size ``lr`` and the
1-based step count ``t``. An optimizer object passed to an estimator is never
modified by training.

To add an optimizer: write its step as a module-level function of arrays and
floats, a class that names its ``slots`` and calls it, and one line in
``OPTIMIZERS``.
"""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator

from ._compat import Interval

_UNIT = [Interval(Real, 0, 1, closed="left")]
_EPS = [Interval(Real, 0, None, closed="neither")]


class Optimizer(BaseEstimator):
    """Base class for update rules.

    Attributes
    ----------
    slots : tuple of str
        Names of the state arrays, each shaped like ``theta``.
    scale_free : bool
        True when the step size per coordinate does not grow with the gradient
        (Adam's family, AdaGrad, RMSProp). Rules that are not scale-free get
        the engine's curvature step bound.
    """

    slots = ()
    scale_free = False
    _parameter_constraints = {}

    def init(self, theta):
        """Fresh state: one zero array per slot, shaped like ``theta``."""
        return tuple(np.zeros_like(theta) for _ in self.slots)

    def step(self, theta, grad, state, lr, t):
        """Update ``theta`` and ``state`` in place."""
        raise NotImplementedError

    def effective_step(self, state, lr, t):
        """Per-coordinate step ``D`` with ``update = D * grad`` at a fixed point.

        The L1 proximal step thresholds by ``l1 * D``, which keeps the fixed
        point at the exact L1-penalised optimum.
        """
        return lr

    @property
    def decoupled_decay(self):
        """Decoupled weight decay per unit step (only AdamW has one)."""
        return 0.0


# --- the rules, as plain functions ------------------------------------------------


def sgd_step(theta, grad, lr):
    """``theta -= lr * g``."""
    theta -= lr * grad


def momentum_step(theta, grad, velocity, lr, momentum):
    """Heavy ball (Polyak 1964): ``v = mu * v + g; theta -= lr * v``."""
    velocity *= momentum
    velocity += grad
    theta -= lr * velocity


def nesterov_step(theta, grad, velocity, lr, momentum):
    """Nesterov momentum (Sutskever et al. 2013): ``v = mu*v + g; theta -= lr*(g + mu*v)``."""
    velocity *= momentum
    velocity += grad
    theta -= lr * (grad + momentum * velocity)


def adagrad_step(theta, grad, accumulator, lr, eps):
    """AdaGrad (Duchi et al. 2011): ``G += g**2; theta -= lr * g / (sqrt(G) + eps)``."""
    accumulator += grad * grad
    theta -= lr * grad / (np.sqrt(accumulator) + eps)


def rmsprop_step(theta, grad, sq_avg, lr, rho, eps):
    """RMSProp (Hinton 2012): ``v = rho*v + (1-rho)*g**2; theta -= lr * g / (sqrt(v) + eps)``."""
    sq_avg *= rho
    sq_avg += (1.0 - rho) * grad * grad
    theta -= lr * grad / (np.sqrt(sq_avg) + eps)


def _moments(grad, m, v, beta1, beta2):
    m *= beta1
    m += (1.0 - beta1) * grad
    v *= beta2
    v += (1.0 - beta2) * grad * grad


def adam_step(theta, grad, m, v, lr, t, beta1, beta2, eps):
    """Adam (Kingma & Ba 2015) with bias-corrected moments."""
    _moments(grad, m, v, beta1, beta2)
    m_hat = m / (1.0 - beta1**t)
    v_hat = v / (1.0 - beta2**t)
    theta -= lr * m_hat / (np.sqrt(v_hat) + eps)


def nadam_step(theta, grad, m, v, lr, t, beta1, beta2, eps):
    """NAdam (Dozat 2016): Adam with a Nesterov look-ahead on the first moment."""
    _moments(grad, m, v, beta1, beta2)
    m_hat = beta1 * m / (1.0 - beta1 ** (t + 1)) + (1.0 - beta1) * grad / (1.0 - beta1**t)
    v_hat = v / (1.0 - beta2**t)
    theta -= lr * m_hat / (np.sqrt(v_hat) + eps)


def amsgrad_step(theta, grad, m, v, v_max, lr, t, beta1, beta2, eps):
    """AMSGrad (Reddi et al. 2018): Adam with a running maximum of ``v``."""
    _moments(grad, m, v, beta1, beta2)
    np.maximum(v_max, v, out=v_max)
    m_hat = m / (1.0 - beta1**t)
    theta -= lr * m_hat / (np.sqrt(v_max / (1.0 - beta2**t)) + eps)


# --- the classes --------------------------------------------------------------------


class SGD(Optimizer):
    """Plain gradient descent: ``theta -= lr * grad``."""

    def step(self, theta, grad, state, lr, t):
        sgd_step(theta, grad, lr)


class Momentum(Optimizer):
    """Heavy-ball momentum: ``v = momentum * v + g; theta -= lr * v``.

    Parameters
    ----------
    momentum : float, default=0.9
        Decay of the velocity, in [0, 1).
    """

    slots = ("velocity",)
    _parameter_constraints = {"momentum": _UNIT}

    def __init__(self, momentum=0.9):
        self.momentum = momentum

    def step(self, theta, grad, state, lr, t):
        momentum_step(theta, grad, state[0], lr, self.momentum)

    def effective_step(self, state, lr, t):
        return lr / (1.0 - self.momentum)


class Nesterov(Momentum):
    """Nesterov momentum: ``v = momentum * v + g; theta -= lr * (g + momentum * v)``.

    Parameters
    ----------
    momentum : float, default=0.9
        Decay of the velocity, in [0, 1).
    """

    def step(self, theta, grad, state, lr, t):
        nesterov_step(theta, grad, state[0], lr, self.momentum)


class AdaGrad(Optimizer):
    """AdaGrad: per-coordinate steps shrink with the sum of squared gradients.

    Parameters
    ----------
    eps : float, default=1e-8
        Added to the denominator for numerical stability.
    """

    slots = ("accumulator",)
    scale_free = True
    _parameter_constraints = {"eps": _EPS}

    def __init__(self, eps=1e-8):
        self.eps = eps

    def step(self, theta, grad, state, lr, t):
        adagrad_step(theta, grad, state[0], lr, self.eps)

    def effective_step(self, state, lr, t):
        return lr / (np.sqrt(state[0]) + self.eps)


class RMSProp(Optimizer):
    """RMSProp: steps divided by a running root mean square of the gradient.

    Parameters
    ----------
    rho : float, default=0.9
        Decay of the running average of squared gradients.
    eps : float, default=1e-8
    """

    slots = ("sq_avg",)
    scale_free = True
    _parameter_constraints = {"rho": _UNIT, "eps": _EPS}

    def __init__(self, rho=0.9, eps=1e-8):
        self.rho = rho
        self.eps = eps

    def step(self, theta, grad, state, lr, t):
        rmsprop_step(theta, grad, state[0], lr, self.rho, self.eps)

    def effective_step(self, state, lr, t):
        return lr / (np.sqrt(state[0]) + self.eps)


class Adam(Optimizer):
    """Adam: bias-corrected first and second moment estimates.

    Parameters
    ----------
    beta1 : float, default=0.9
        Decay of the first moment (the mean of gradients).
    beta2 : float, default=0.999
        Decay of the second moment (the mean of squared gradients).
    eps : float, default=1e-8
    """

    slots = ("m", "v")
    scale_free = True
    _parameter_constraints = {"beta1": _UNIT, "beta2": _UNIT, "eps": _EPS}

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-8):
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps

    def step(self, theta, grad, state, lr, t):
        adam_step(theta, grad, *state, lr, t, self.beta1, self.beta2, self.eps)

    def effective_step(self, state, lr, t):
        return lr / (np.sqrt(state[1] / (1.0 - self.beta2**t)) + self.eps)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019).

    Each step also shrinks the coefficients (never the intercept) by
    ``lr * weight_decay * coef``, separately from the gradient and from
    ``penalty``.

    Parameters
    ----------
    beta1 : float, default=0.9
    beta2 : float, default=0.999
    eps : float, default=1e-8
    weight_decay : float, default=0.01
    """

    _parameter_constraints = {
        **Adam._parameter_constraints,
        "weight_decay": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
        super().__init__(beta1=beta1, beta2=beta2, eps=eps)
        self.weight_decay = weight_decay

    @property
    def decoupled_decay(self):
        return self.weight_decay


class NAdam(Adam):
    """Adam with Nesterov momentum (Dozat 2016).

    Parameters
    ----------
    beta1 : float, default=0.9
    beta2 : float, default=0.999
    eps : float, default=1e-8
    """

    def step(self, theta, grad, state, lr, t):
        nadam_step(theta, grad, *state, lr, t, self.beta1, self.beta2, self.eps)


class AMSGrad(Adam):
    """Adam with a non-decreasing second moment (Reddi et al. 2018).

    Parameters
    ----------
    beta1 : float, default=0.9
    beta2 : float, default=0.999
    eps : float, default=1e-8
    """

    slots = ("m", "v", "v_max")

    def step(self, theta, grad, state, lr, t):
        amsgrad_step(theta, grad, *state, lr, t, self.beta1, self.beta2, self.eps)

    def effective_step(self, state, lr, t):
        return lr / (np.sqrt(state[2] / (1.0 - self.beta2**t)) + self.eps)


def clip_by_global_norm(grad, clip_norm):
    """Rescale ``grad`` in place to an L2 norm of at most ``clip_norm`` (None: no-op)."""
    if clip_norm is not None:
        norm = np.sqrt(np.vdot(grad, grad))
        if norm > clip_norm:
            grad *= clip_norm / norm


OPTIMIZERS = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": AdaGrad,
    "rmsprop": RMSProp,
    "adam": Adam,
    "adamw": AdamW,
    "nadam": NAdam,
    "amsgrad": AMSGrad,
}


def resolve_optimizer(optimizer):
    """An optimizer object for a name or an object (returned as is)."""
    if isinstance(optimizer, str):
        return OPTIMIZERS[optimizer]()
    return optimizer
