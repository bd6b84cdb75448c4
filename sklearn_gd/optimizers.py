"""Update rules: one small class per optimizer.

An optimizer holds only hyperparameters (``get_params``/``set_params`` come
from :class:`~sklearn.base.BaseEstimator`, so ``clone`` and nested grid keys
such as ``optimizer__beta1`` work). Its state lives outside it, as optax does
it: ``init`` returns a tuple of arrays (the slots), and ``step`` updates
``theta`` and the slots in place from the gradient, the step size ``lr`` and the
1-based step count ``t``. An optimizer object passed to an estimator is never
modified by training.

The math of each rule is a pair of pure elementwise functions with one
signature, ``rule(theta, grad, slots, lr, t, hyper) -> (theta, slots)`` and
``effective(slots, lr, t, hyper) -> step``, where ``slots`` is a tuple like the
state and ``hyper`` the tuple of the hyperparameters in ``hyper_names`` order.
NumPy runs them on whole arrays; the optional compiled loop (``_kernel.py``)
compiles the same functions and runs them one coordinate at a time, so a step
allocates nothing.

To add an optimizer: its two functions, a class naming its ``slots``,
``hyper_names`` and functions, and one line in ``OPTIMIZERS``.
"""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator

from ._compat import Interval

_UNIT = [Interval(Real, 0, 1, closed="left")]
_EPS = [Interval(Real, 0, None, closed="neither")]


class Optimizer(BaseEstimator):
    """Base class for update rules: subclass it to write your own optimizer.

    An optimizer holds only its hyperparameters; its state (the slots) lives
    on the estimator. A subclass names its ``slots`` and ``hyper_names`` and
    sets ``rule`` and ``effective`` to two pure elementwise functions,
    ``rule(theta, grad, slots, lr, t, hyper) -> (theta, slots)`` and
    ``effective(slots, lr, t, hyper) -> step``; the compiled loop compiles
    the same functions. See the module docstring of
    :mod:`sklearn_gd.optimizers`.

    Attributes
    ----------
    slots : tuple of str
        Names of the state arrays, each shaped like ``theta``.
    scale_free : bool
        True when the step size per coordinate does not grow with the gradient
        (Adam's family, AdaGrad, RMSProp). Rules that are not scale-free get
        the engine's curvature step bound.
    linear : bool
        True when the rule is plain ``theta - lr * grad``: the compiled loop
        then keeps the L2 decay of per-sample steps on sparse rows as one scale
        factor, and touches only the row's features.

    See Also
    --------
    SGD : The simplest subclass.
    Adam : A subclass with two slots and three hyperparameters.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gd.optimizers import Momentum
    >>> opt = Momentum(momentum=0.5)
    >>> theta, grad = np.zeros(2), np.array([1.0, -2.0])
    >>> state = opt.init(theta)
    >>> opt.step(theta, grad, state, lr=0.1, t=1)
    >>> theta
    array([-0.1,  0.2])
    """

    slots = ()
    hyper_names = ()
    scale_free = False
    linear = False
    rule = None
    effective = None
    _parameter_constraints = {}

    @property
    def hyper(self):
        """The hyperparameters as the tuple of floats the rule functions take."""
        return tuple(float(getattr(self, name)) for name in self.hyper_names)

    def init(self, theta):
        """Fresh state: one zero array per slot, shaped like ``theta``.

        Parameters
        ----------
        theta : ndarray
            The parameters the state will belong to.

        Returns
        -------
        state : tuple of ndarray
            One zero array like ``theta`` per name in ``slots``.
        """
        return tuple(np.zeros_like(theta) for _ in self.slots)

    def step(self, theta, grad, state, lr, t):
        """Update ``theta`` and ``state`` in place.

        Parameters
        ----------
        theta : ndarray
            The parameters, updated in place.
        grad : ndarray
            The gradient of the objective at ``theta``, shaped like it.
        state : tuple of ndarray
            The slots from :meth:`init` (or the previous step), updated in place.
        lr : float
            The step size of this step.
        t : int
            The 1-based optimizer step count (bias corrections use it).
        """
        new_theta, new_state = self.rule(theta, grad, state, lr, t, self.hyper)
        theta[...] = new_theta
        for slot, new in zip(state, new_state, strict=True):
            slot[...] = new

    def effective_step(self, state, lr, t, out):
        """Write into ``out`` the per-coordinate step at a fixed point, and return it.

        The step ``D`` is the one with ``update = D * grad`` at a fixed point.
        The L1 proximal step thresholds by ``l1 * D``, which keeps the fixed
        point at the exact L1-penalised optimum.

        Parameters
        ----------
        state : tuple of ndarray
            The current slots.
        lr : float
            The step size.
        t : int
            The 1-based optimizer step count.
        out : ndarray
            Where to write the step, shaped like the slots.

        Returns
        -------
        out : ndarray
            ``out``, holding the per-coordinate step.
        """
        out[...] = self.effective(state, lr, t, self.hyper)
        return out

    @property
    def decoupled_decay(self):
        """Decoupled weight decay per unit step (only AdamW has one)."""
        return 0.0


# --- the rules, as plain functions ------------------------------------------------
# Elementwise: every argument but ``hyper`` and ``t`` may be an array or a number.


def sgd_rule(theta, grad, slots, lr, t, hyper):
    """``theta -= lr * g``."""
    return theta - lr * grad, slots


def sgd_effective(slots, lr, t, hyper):
    return lr


def momentum_rule(theta, grad, slots, lr, t, hyper):
    """Heavy ball (Polyak 1964): ``v = mu * v + g; theta -= lr * v``."""
    (velocity,) = slots
    velocity = hyper[0] * velocity + grad
    return theta - lr * velocity, (velocity,)


def nesterov_rule(theta, grad, slots, lr, t, hyper):
    """Nesterov momentum (Sutskever et al. 2013): ``v = mu*v + g; theta -= lr*(g + mu*v)``."""
    (velocity,) = slots
    velocity = hyper[0] * velocity + grad
    return theta - lr * (grad + hyper[0] * velocity), (velocity,)


def momentum_effective(slots, lr, t, hyper):
    return lr / (1.0 - hyper[0])


def adagrad_rule(theta, grad, slots, lr, t, hyper):
    """AdaGrad (Duchi et al. 2011): ``G += g**2; theta -= lr * g / (sqrt(G) + eps)``."""
    accumulator = slots[0] + grad * grad
    return theta - lr * grad / (np.sqrt(accumulator) + hyper[0]), (accumulator,)


def adagrad_effective(slots, lr, t, hyper):
    return lr / (np.sqrt(slots[0]) + hyper[0])


def rmsprop_rule(theta, grad, slots, lr, t, hyper):
    """RMSProp (Hinton 2012): ``v = rho*v + (1-rho)*g**2; theta -= lr * g / (sqrt(v) + eps)``."""
    rho, eps = hyper
    sq_avg = rho * slots[0] + (1.0 - rho) * grad * grad
    return theta - lr * grad / (np.sqrt(sq_avg) + eps), (sq_avg,)


def rmsprop_effective(slots, lr, t, hyper):
    return lr / (np.sqrt(slots[0]) + hyper[1])


def _moments(grad, m, v, beta1, beta2):
    return beta1 * m + (1.0 - beta1) * grad, beta2 * v + (1.0 - beta2) * grad * grad


def adam_rule(theta, grad, slots, lr, t, hyper):
    """Adam (Kingma & Ba 2015) with bias-corrected moments."""
    beta1, beta2, eps = hyper
    m, v = _moments(grad, slots[0], slots[1], beta1, beta2)
    step = lr * (m / (1.0 - beta1**t)) / (np.sqrt(v / (1.0 - beta2**t)) + eps)
    return theta - step, (m, v)


def adam_effective(slots, lr, t, hyper):
    return lr / (np.sqrt(slots[1] / (1.0 - hyper[1] ** t)) + hyper[2])


def nadam_rule(theta, grad, slots, lr, t, hyper):
    """NAdam (Dozat 2016): Adam with a Nesterov look-ahead on the first moment."""
    beta1, beta2, eps = hyper
    m, v = _moments(grad, slots[0], slots[1], beta1, beta2)
    m_hat = beta1 * m / (1.0 - beta1 ** (t + 1)) + (1.0 - beta1) * grad / (1.0 - beta1**t)
    return theta - lr * m_hat / (np.sqrt(v / (1.0 - beta2**t)) + eps), (m, v)


def amsgrad_rule(theta, grad, slots, lr, t, hyper):
    """AMSGrad (Reddi et al. 2018): Adam with a running maximum of ``v``."""
    beta1, beta2, eps = hyper
    m, v = _moments(grad, slots[0], slots[1], beta1, beta2)
    v_max = np.maximum(slots[2], v)
    step = lr * (m / (1.0 - beta1**t)) / (np.sqrt(v_max / (1.0 - beta2**t)) + eps)
    return theta - step, (m, v, v_max)


def amsgrad_effective(slots, lr, t, hyper):
    return lr / (np.sqrt(slots[2] / (1.0 - hyper[1] ** t)) + hyper[2])


# --- the classes --------------------------------------------------------------------


class SGD(Optimizer):
    """Plain gradient descent: ``theta <- theta - lr * g``.

    The textbook update, and the rule of scikit-learn's ``SGDClassifier``: each
    step moves the weights against the gradient ``g`` of the batch objective by
    the step size ``lr`` (``learning_rate`` times the schedule's factor). It
    has no hyperparameter of its own and no state. Its step is not scale-free:
    a gradient twice as large moves twice as far, so the step size must suit
    the curvature of the problem (standardise the features).

    See Also
    --------
    Momentum : Adds a velocity that averages past gradients.
    Adam : Scale-free steps from running moments of the gradient.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_gd import GDClassifier
    >>> from sklearn_gd.optimizers import SGD
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = GDClassifier(optimizer=SGD(), random_state=0).fit(scale(X), y)
    >>> clf.score(scale(X), y) > 0.95
    True
    """

    linear = True
    rule = staticmethod(sgd_rule)
    effective = staticmethod(sgd_effective)


class Momentum(Optimizer):
    """Heavy-ball momentum: ``v <- momentum * v + g; theta <- theta - lr * v``.

    The velocity ``v`` accumulates past gradients (Polyak 1964), which
    speeds progress along directions where they agree and damps zig-zags
    across narrow valleys. The update equals ``torch.optim.SGD`` with
    ``momentum``; at a fixed point the effective step is ``lr / (1 - momentum)``.

    Parameters
    ----------
    momentum : float, default=0.9
        Decay of the velocity, in [0, 1). 0 is plain gradient descent; values
        near 1 remember more of the past and need a smaller ``learning_rate``.

    See Also
    --------
    Nesterov : Momentum with a look-ahead gradient.
    SGD : Plain gradient descent.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_gd import GDClassifier
    >>> from sklearn_gd.optimizers import Momentum
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = GDClassifier(optimizer=Momentum(momentum=0.9), random_state=0).fit(scale(X), y)
    >>> clf.score(scale(X), y) > 0.95
    True
    """

    slots = ("velocity",)
    hyper_names = ("momentum",)
    rule = staticmethod(momentum_rule)
    effective = staticmethod(momentum_effective)
    _parameter_constraints = {"momentum": _UNIT}

    def __init__(self, momentum=0.9):
        self.momentum = momentum


class Nesterov(Momentum):
    """Nesterov momentum: ``v <- momentum * v + g; theta <- theta - lr * (g + momentum * v)``.

    The velocity is applied with a look-ahead (Sutskever et al. 2013), as
    ``torch.optim.SGD(nesterov=True)``: it overshoots less than heavy-ball
    momentum when the gradient changes direction.

    Parameters
    ----------
    momentum : float, default=0.9
        Decay of the velocity, in [0, 1).

    See Also
    --------
    Momentum : Heavy-ball momentum without the look-ahead.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_gd import GDClassifier
    >>> from sklearn_gd.optimizers import Nesterov
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = GDClassifier(optimizer=Nesterov(), random_state=0).fit(scale(X), y)
    >>> clf.score(scale(X), y) > 0.95
    True
    """

    rule = staticmethod(nesterov_rule)


class AdaGrad(Optimizer):
    """AdaGrad: ``G <- G + g**2; theta <- theta - lr * g / (sqrt(G) + eps)``.

    Each coordinate's step shrinks with the sum of its squared gradients
    (Duchi et al. 2011): rare features keep large steps, frequent ones get
    small steps. The steps do not depend on the scale of the gradient
    (scale-free), and they decay on their own, so a constant schedule suits it.

    Parameters
    ----------
    eps : float, default=1e-8
        Added to the denominator (outside the square root, as in torch) so
        that a coordinate with a zero gradient history takes no infinite step.

    See Also
    --------
    RMSProp : A running average instead of a sum, so steps do not vanish.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_gd import GDClassifier
    >>> from sklearn_gd.optimizers import AdaGrad
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = GDClassifier(optimizer=AdaGrad(), random_state=0).fit(scale(X), y)
    >>> clf.score(scale(X), y) > 0.95
    True
    """

    slots = ("accumulator",)
    hyper_names = ("eps",)
    scale_free = True
    rule = staticmethod(adagrad_rule)
    effective = staticmethod(adagrad_effective)
    _parameter_constraints = {"eps": _EPS}

    def __init__(self, eps=1e-8):
        self.eps = eps


class RMSProp(Optimizer):
    """RMSProp: ``v <- rho * v + (1 - rho) * g**2; theta <- theta - lr * g / (sqrt(v) + eps)``.

    Steps are divided by a running root mean square of the gradient (Hinton
    2012), as ``torch.optim.RMSprop``: scale-free like AdaGrad, but the
    average forgets old gradients, so the steps do not shrink to zero.

    Parameters
    ----------
    rho : float, default=0.9
        Decay of the running average of squared gradients, in [0, 1).
    eps : float, default=1e-8
        Added to the denominator (outside the square root, as in torch) so
        that a coordinate with a zero gradient history takes no infinite step.

    See Also
    --------
    AdaGrad : The sum of squared gradients instead of a running average.
    Adam : RMSProp with momentum and bias correction.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_gd import GDClassifier
    >>> from sklearn_gd.optimizers import RMSProp
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = GDClassifier(optimizer=RMSProp(), random_state=0).fit(scale(X), y)
    >>> clf.score(scale(X), y) > 0.95
    True
    """

    slots = ("sq_avg",)
    hyper_names = ("rho", "eps")
    scale_free = True
    rule = staticmethod(rmsprop_rule)
    effective = staticmethod(rmsprop_effective)
    _parameter_constraints = {"rho": _UNIT, "eps": _EPS}

    def __init__(self, rho=0.9, eps=1e-8):
        self.rho = rho
        self.eps = eps


class Adam(Optimizer):
    """Adam: bias-corrected first and second moment estimates.

    With ``m <- beta1 * m + (1 - beta1) * g`` and
    ``v <- beta2 * v + (1 - beta2) * g**2``, the step at optimizer step ``t``
    is ``theta <- theta - lr * m_hat / (sqrt(v_hat) + eps)`` with
    ``m_hat = m / (1 - beta1**t)`` and ``v_hat = v / (1 - beta2**t)``
    (Kingma & Ba 2015, as ``torch.optim.Adam``). Each coordinate moves by
    about ``lr`` per step whatever the scale of its gradient, so one
    ``learning_rate`` works across problems; it is the estimators' default.

    Parameters
    ----------
    beta1 : float, default=0.9
        Decay of the first moment ``m`` (the running mean of gradients), in
        [0, 1). Lower values follow the latest gradients more closely.
    beta2 : float, default=0.999
        Decay of the second moment ``v`` (the running mean of squared
        gradients), in [0, 1).
    eps : float, default=1e-8
        Added to the denominator (outside the square root, as in torch) so
        that a coordinate with a zero gradient history takes no infinite step.

    See Also
    --------
    AdamW : Adam with decoupled weight decay.
    NAdam : Adam with a Nesterov look-ahead.
    AMSGrad : Adam with a non-decreasing second moment.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_gd import GDClassifier
    >>> from sklearn_gd.optimizers import Adam
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = GDClassifier(optimizer=Adam(beta1=0.9), random_state=0).fit(scale(X), y)
    >>> clf.score(scale(X), y) > 0.95
    True
    """

    slots = ("m", "v")
    hyper_names = ("beta1", "beta2", "eps")
    scale_free = True
    rule = staticmethod(adam_rule)
    effective = staticmethod(adam_effective)
    _parameter_constraints = {"beta1": _UNIT, "beta2": _UNIT, "eps": _EPS}

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-8):
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019).

    Each step first shrinks the coefficients, ``coef <- coef * (1 - lr * weight_decay)``,
    then takes Adam's step with the gradient evaluated at the weights before
    the shrink: ``theta <- theta * (1 - lr * wd) - lr * m_hat / (sqrt(v_hat) + eps)``,
    as Loshchilov & Hutter's Algorithm 2, ``torch.optim.AdamW`` and optax's
    ``adamw`` (whose ``lr`` multiplies the decay too). The decay is separate from
    the gradient and from ``penalty``. Unlike torch and optax, which decay every
    parameter, the intercept is never decayed: it is not penalised either, and
    shrinking it towards 0 would bias the predictions. ``minimize`` has no
    intercept and decays every coordinate. The engine applies the decay (the
    rule functions know no intercept): see ``decoupled_decay``.

    Parameters
    ----------
    beta1 : float, default=0.9
        Decay of the first moment ``m`` (the running mean of gradients), in
        [0, 1). Lower values follow the latest gradients more closely.
    beta2 : float, default=0.999
        Decay of the second moment ``v`` (the running mean of squared
        gradients), in [0, 1).
    eps : float, default=1e-8
        Added to the denominator (outside the square root, as in torch) so
        that a coordinate with a zero gradient history takes no infinite step.
    weight_decay : float, default=0.01
        Decoupled decay per unit step size, >= 0. Unlike ``alpha``, it is not
        rescaled by Adam's per-coordinate step.

    See Also
    --------
    Adam : The same rule without decoupled decay.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_gd import GDClassifier
    >>> from sklearn_gd.optimizers import AdamW
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = GDClassifier(optimizer=AdamW(weight_decay=0.01), random_state=0).fit(scale(X), y)
    >>> clf.score(scale(X), y) > 0.95
    True
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

    The first moment is taken with a look-ahead:
    ``m_hat = beta1 * m / (1 - beta1**(t+1)) + (1 - beta1) * g / (1 - beta1**t)``,
    and the step is ``lr * m_hat / (sqrt(v_hat) + eps)``, with a constant
    ``beta1`` (no momentum schedule).

    Parameters
    ----------
    beta1 : float, default=0.9
        Decay of the first moment ``m`` (the running mean of gradients), in
        [0, 1). Lower values follow the latest gradients more closely.
    beta2 : float, default=0.999
        Decay of the second moment ``v`` (the running mean of squared
        gradients), in [0, 1).
    eps : float, default=1e-8
        Added to the denominator (outside the square root, as in torch) so
        that a coordinate with a zero gradient history takes no infinite step.

    See Also
    --------
    Adam : The same moments without the look-ahead.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_gd import GDClassifier
    >>> from sklearn_gd.optimizers import NAdam
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = GDClassifier(optimizer=NAdam(), random_state=0).fit(scale(X), y)
    >>> clf.score(scale(X), y) > 0.95
    True
    """

    rule = staticmethod(nadam_rule)


class AMSGrad(Adam):
    """Adam with a non-decreasing second moment (Reddi et al. 2018).

    The step divides by the running maximum of ``v`` instead of ``v``
    (``torch.optim.Adam(amsgrad=True)``), so a coordinate's step size never
    grows back after a large gradient; this repairs Adam's convergence on
    some convex problems.

    Parameters
    ----------
    beta1 : float, default=0.9
        Decay of the first moment ``m`` (the running mean of gradients), in
        [0, 1). Lower values follow the latest gradients more closely.
    beta2 : float, default=0.999
        Decay of the second moment ``v`` (the running mean of squared
        gradients), in [0, 1).
    eps : float, default=1e-8
        Added to the denominator (outside the square root, as in torch) so
        that a coordinate with a zero gradient history takes no infinite step.

    See Also
    --------
    Adam : The same rule with the current second moment.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_gd import GDClassifier
    >>> from sklearn_gd.optimizers import AMSGrad
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = GDClassifier(optimizer=AMSGrad(), random_state=0).fit(scale(X), y)
    >>> clf.score(scale(X), y) > 0.95
    True
    """

    slots = ("m", "v", "v_max")
    rule = staticmethod(amsgrad_rule)
    effective = staticmethod(amsgrad_effective)


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
