"""``minimize``: the estimators' optimizers and schedules on any differentiable function."""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.optimize import OptimizeResult
from sklearn.utils.validation import check_scalar

from ._stopping import Monitor
from .optimizers import OPTIMIZERS, Optimizer, clip_by_global_norm, resolve_optimizer
from .schedules import SCHEDULES, Optimal, Schedule, ScheduleContext, plateau_of, resolve_schedule


def _finite_difference(fun, x, shape):
    """Central differences with step ``eps**(1/3) * max(1, |x_i|)``."""
    grad = np.empty_like(x)
    h = np.finfo(float).eps ** (1 / 3) * np.maximum(1.0, np.abs(x))
    for i in range(len(x)):
        e = np.zeros_like(x)
        e[i] = h[i]
        grad[i] = (fun((x + e).reshape(shape)) - fun((x - e).reshape(shape))) / (2 * h[i])
    return grad


def _scalar(value):
    """``fun``'s value as a float; a clear error for anything but one number."""
    array = np.asarray(value)
    if array.size != 1 or array.dtype.kind not in "biuf":
        raise ValueError(
            "fun must return a scalar (one real number); got "
            f"{type(value).__name__} of shape {array.shape} and dtype {array.dtype}."
        )
    return float(array.reshape(()))


def _check_component(value, name, registry, kind):
    """A registry name or an object of ``kind``; a clear error listing the names otherwise."""
    if isinstance(value, str) and value not in registry:
        raise ValueError(f"{name} must be one of {sorted(registry)} or an instance of "
                         f"{kind.__name__}; got {value!r}.")  # fmt: skip
    if not isinstance(value, (str, kind)):
        raise TypeError(f"{name} must be one of {sorted(registry)} or an instance of "
                        f"{kind.__name__}; got {type(value).__name__}.")  # fmt: skip
    return value


def minimize(
    fun,
    x0,
    *,
    jac=None,
    optimizer="adam",
    learning_rate=0.01,
    schedule="constant",
    max_iter=1000,
    tol=1e-6,
    clip_norm=None,
    callback=None,
):
    """Minimise ``fun`` by gradient descent, in the style of ``scipy.optimize.minimize``.

    The update rules and schedules are the estimators' own: the same strings
    and objects, the same code.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float``, or ``(float, gradient)`` with ``jac=True``.
    x0 : array-like
        Starting point; ``x`` keeps its shape.
    jac : callable, bool or None, default=None
        ``jac(x) -> gradient`` of ``x``'s shape; True when ``fun`` returns the
        gradient too; None or False (as in ``scipy.optimize.minimize``)
        estimates it by central finite differences (``2 * x.size`` evaluations
        of ``fun`` per iteration, with a warning).
    optimizer : str or Optimizer, default='adam'
        The update rule: a name accepted by the estimators' ``optimizer`` or an
        object from :mod:`sklearn_gd.optimizers`.
    learning_rate : float, default=0.01
        The base step size, > 0, shaped by ``schedule``.
    schedule : str or Schedule, default='constant'
        Per-epoch schedules count one iteration as one epoch. 'optimal' is not
        available: it is defined for regularised losses only.
    max_iter : int, default=1000
        Maximum number of steps (>= 0; 0 only evaluates ``fun`` at ``x0``).
    tol : float or None, default=1e-6
        Stop (successfully) once the L2 norm of the gradient is at most
        ``tol``; None runs all ``max_iter`` steps.
    clip_norm : float > 0 or None, default=None
        Rescale each gradient to at most this L2 norm before the step (the
        gradient reported in ``jac`` and to ``callback`` is the unclipped one).
    callback : callable, default=None
        ``callback(intermediate_result)`` after each step, with an
        ``OptimizeResult`` holding ``x``, ``fun``, ``jac`` and ``nit``;
        returning True (or raising ``StopIteration``) stops.

    Returns
    -------
    result : scipy.optimize.OptimizeResult
        ``x``, ``fun``, ``jac`` (at ``x``), ``nit`` (steps taken), ``nfev``,
        ``success``, ``status`` (0 converged, 1 ``max_iter`` reached, 2
        diverged, 3 stopped by ``callback``), ``message``, and the history for
        plotting, one entry per iteration with the start as iteration 0:
        ``x_history`` (``nit + 1`` points), ``fun_history`` (``nit + 1``
        values) and ``learning_rate_history`` (the ``nit`` step sizes).

    Examples
    --------
    >>> from sklearn_gd import minimize
    >>> res = minimize(lambda w: ((w - 3) ** 2).sum(), [0.0], jac=lambda w: 2 * (w - 3),
    ...                optimizer="sgd", learning_rate=0.1, max_iter=3, tol=None)
    >>> res.x_history[1:, 0].round(4).tolist()
    [0.6, 1.08, 1.464]
    """
    x0 = np.asarray(x0, dtype=float)
    shape = x0.shape
    x = x0.ravel().copy()
    opt = resolve_optimizer(_check_component(optimizer, "optimizer", OPTIMIZERS, Optimizer))
    sched = resolve_schedule(_check_component(schedule, "schedule", SCHEDULES, Schedule))
    for component in (opt, sched):
        component._validate_params()
    if isinstance(sched, Optimal):
        raise ValueError(
            "schedule='optimal' is scikit-learn's rule for regularised losses and "
            "needs alpha; minimize supports the other schedules."
        )
    if isinstance(learning_rate, str) or not learning_rate > 0:
        raise ValueError(f"learning_rate must be a float > 0, got {learning_rate!r}.")
    check_scalar(max_iter, "max_iter", Integral, min_val=0)
    if tol is not None:
        check_scalar(tol, "tol", Real, min_val=0)
    if clip_norm is not None:
        check_scalar(clip_norm, "clip_norm", Real, min_val=0, include_boundaries="neither")
    if not (jac is None or isinstance(jac, bool) or callable(jac)):
        raise TypeError(
            "jac must be a callable returning the gradient, True (fun returns "
            f"(value, gradient)), or None/False (finite differences); got {jac!r}."
        )
    if jac is False:  # scipy's convention: no gradient given
        jac = None
    if jac is None:
        warnings.warn(
            "jac=None: the gradient is estimated by central finite differences, "
            f"costing {2 * x.size} evaluations of fun per iteration; pass jac for speed "
            "and accuracy.",
            UserWarning,
            stacklevel=2,
        )
    nfev = 0

    def evaluate(x):
        nonlocal nfev
        with np.errstate(all="ignore"):
            if jac is True:
                out = fun(x.reshape(shape))
                if not (isinstance(out, (tuple, list)) and len(out) == 2):
                    raise TypeError(
                        "with jac=True, fun must return a pair (value, gradient); got "
                        f"{type(out).__name__}."
                    )
                value, grad = _scalar(out[0]), out[1]
                nfev += 1
            else:
                value = _scalar(fun(x.reshape(shape)))
                nfev += 1
                if jac is None:
                    grad = _finite_difference(fun, x, shape)
                    nfev += 2 * x.size
                else:
                    grad = jac(x.reshape(shape))
        grad = np.array(grad, dtype=float)
        if grad.size != x.size:
            raise ValueError(f"The gradient must have x0's shape {shape}; got shape {grad.shape}.")
        return value, grad.ravel()

    context = ScheduleContext(max_iter=max_iter, alpha=None, loss=None)
    # tol=0: plateau cuts on any non-improving step (minimize's own tol is on the gradient)
    monitor = Monitor(0.0, 10, plateau_of(sched), learning_rate, keep_best=False)
    state = opt.init(x)
    xs, fs, lrs = [x.copy()], [], []
    lr_scale = 1.0
    status, message = 1, f"Maximum number of iterations ({max_iter}) reached."
    value, grad = evaluate(x)
    for t in range(1, max_iter + 1):
        fs.append(value)
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            status = 2
            break
        if tol is not None and np.sqrt(np.dot(grad, grad)) <= tol:
            status, message = 0, f"Gradient norm below tol={tol}."
            break
        epoch = np.array([t - 1.0])
        lr = float(sched.rates(learning_rate, np.array([t]), epoch, context)[0]) * lr_scale
        clip_by_global_norm(grad, clip_norm)
        with np.errstate(all="ignore"):
            if opt.decoupled_decay:  # before the step, at the old x's gradient (AdamW)
                x *= 1.0 - lr * opt.decoupled_decay
            opt.step(x, grad, state, lr, t)
        xs.append(x.copy())
        lrs.append(lr)
        value, grad = evaluate(x)
        _, lr_scale = monitor.update(value, t, None, lr_scale)
        if callback is not None:
            # Copies: the next step clips grad in place, and must not change what was seen.
            info = OptimizeResult(
                x=x.reshape(shape).copy(), fun=value, jac=grad.reshape(shape).copy(), nit=t
            )
            try:
                stop = callback(info)
            except StopIteration:
                stop = True
            if stop:
                status, message = 3, "Stopped by callback."
                fs.append(value)
                break
    else:
        fs.append(value)
    if status == 2 or not (np.isfinite(value) and np.all(np.isfinite(x))):
        status = 2
        message = (
            f"Diverged at iteration {len(xs) - 1}: fun or its gradient is not finite. "
            "Use a smaller learning_rate (or set clip_norm)."
        )
    return OptimizeResult(
        x=x.reshape(shape),
        fun=value,
        jac=grad.reshape(shape),
        nit=len(xs) - 1,
        nfev=nfev,
        success=status == 0,
        status=status,
        message=message,
        x_history=np.array(xs).reshape((len(xs), *shape)),
        fun_history=np.array(fs),
        learning_rate_history=np.array(lrs),
    )
