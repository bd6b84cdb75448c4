"""Export fitted models to ONNX with skl2onnx (the optional ``onnx`` extra).

A fitted ``GDClassifier`` or ``GDRegressor`` is a linear model, so the graphs
are skl2onnx's own: its SGD classifier converter (binary ``log_loss`` as a
sigmoid, one-vs-rest margin losses, ``modified_huber`` probabilities), its
linear classifier converter for the multinomial softmax of multiclass
``log_loss``, its linear regressor converter for identity links, and
``exp`` of the linear predictor for ``poisson``. skl2onnx is imported only
when a function here is called.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from ._classifier import GDClassifier
from ._regressor import GDRegressor

_INSTALL = (
    'ONNX export needs skl2onnx and onnxruntime: pip install "sklearn-gd[onnx]" '
    "(or pip install skl2onnx onnxruntime)."
)
_CLASSIFIER_OPTIONS = {
    "zipmap": [True, False, "columns"],
    "nocl": [True, False],
    "output_class_labels": [False, True],
    "raw_scores": [True, False],
}


def _import_skl2onnx():
    try:
        import skl2onnx
    except ImportError as exc:
        raise ImportError(_INSTALL) from exc
    return skl2onnx


def _dense_model(operator):
    """The model being converted; a clear error for a ``sparsify``-ed one."""
    model = operator.raw_operator
    if sp.issparse(model.coef_):
        raise ValueError(
            f"{type(model).__name__}.coef_ is a sparse matrix (after sparsify()); "
            "call densify() before exporting to ONNX."
        )
    return model


def _convert_classifier(scope, operator, container):
    """Multiclass ``log_loss`` is one softmax model (the linear converter's
    post-transform); everything else is scikit-learn SGD's graph (sigmoid for
    binary ``log_loss``, clipped and normalised margins for ``modified_huber``,
    raw scores for the other margin losses)."""
    from skl2onnx.operator_converters.linear_classifier import (
        convert_sklearn_linear_classifier,
    )
    from skl2onnx.operator_converters.sgd_classifier import convert_sklearn_sgd_classifier

    model = _dense_model(operator)
    if model.loss == "log_loss" and len(model.classes_) > 2:
        convert_sklearn_linear_classifier(scope, operator, container)
    else:
        convert_sklearn_sgd_classifier(scope, operator, container)


def _convert_regressor(scope, operator, container):
    """``X @ coef_.T + intercept_`` as an ``(n, n_targets)`` tensor, ``exp`` of it
    for ``poisson`` (the only loss with a non-identity link)."""
    from skl2onnx.algebra.onnx_ops import OnnxAdd, OnnxExp, OnnxMatMul, OnnxReshape
    from skl2onnx.common.data_types import guess_numpy_type
    from skl2onnx.operator_converters.linear_regressor import convert_sklearn_linear_regressor

    model = _dense_model(operator)
    if model.loss != "poisson":
        convert_sklearn_linear_regressor(scope, operator, container)
        return
    dtype = guess_numpy_type(operator.inputs[0].type)
    dtype = np.float64 if dtype == np.float64 else np.float32
    coef = np.atleast_2d(model.coef_).T.astype(dtype)
    opv = container.target_opset
    eta = OnnxAdd(
        OnnxMatMul(operator.inputs[0], coef, op_version=opv),
        np.asarray(model.intercept_, dtype=dtype),
        op_version=opv,
    )
    shape = np.array([-1, coef.shape[1]], dtype=np.int64)
    out = OnnxReshape(OnnxExp(eta, op_version=opv), shape, op_version=opv,
                      output_names=operator.outputs[:1])  # fmt: skip
    out.add_to(scope, container)


def register_converters():
    """Register shape calculators and converters for both estimators with skl2onnx.

    Call it once before ``skl2onnx.to_onnx`` or ``convert_sklearn`` on a model
    that is, or contains, a ``GDClassifier`` or ``GDRegressor``; calling it
    again changes nothing. :func:`to_onnx` calls it for you.

    The classifier accepts skl2onnx's classifier options ``zipmap``, ``nocl``,
    ``output_class_labels`` and ``raw_scores`` (``raw_scores=True`` makes the
    second output the ``decision_function``; for two classes its columns are
    ``-score, score``).

    Raises
    ------
    ImportError
        If skl2onnx is not installed.
    """
    skl2onnx = _import_skl2onnx()
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    skl2onnx.update_registered_converter(
        GDClassifier,
        "SklearnGDClassifier",
        calculate_linear_classifier_output_shapes,
        _convert_classifier,
        options=_CLASSIFIER_OPTIONS,
    )
    skl2onnx.update_registered_converter(
        GDRegressor,
        "SklearnGDRegressor",
        calculate_linear_regressor_output_shapes,
        _convert_regressor,
    )


def to_onnx(model, X_sample, **kwargs):
    """Convert a fitted model to an ONNX graph.

    Parameters
    ----------
    model : GDClassifier, GDRegressor or Pipeline
        A fitted estimator, or a fitted scikit-learn ``Pipeline`` (or other
        skl2onnx-convertible composite) that contains one.
    X_sample : array-like of shape (n_samples, n_features)
        A few rows of input: their dtype (float32 or float64) and number of
        columns fix the graph's input type. float32 is what most runtimes serve.
    **kwargs
        Passed to ``skl2onnx.to_onnx`` (``target_opset``, ``options``, ...).
        Unless ``options`` is given, classifiers are exported with
        ``zipmap=False``, so that probabilities come out as one
        ``(n_samples, n_classes)`` tensor rather than a list of dicts.

    Returns
    -------
    onnx_model : onnx.ModelProto
        The graph, with inputs ``X`` and outputs ``label`` and
        ``probabilities`` (classifiers; the probabilities are the scores of
        ``decision_function`` for losses without ``predict_proba``) or
        ``variable`` (regressors, shape ``(n_samples, n_targets)``). Save it
        with ``onnx_model.SerializeToString()``.

    Raises
    ------
    ImportError
        If skl2onnx is not installed.
    sklearn.exceptions.NotFittedError
        If ``model`` is not fitted.
    ValueError
        If ``coef_`` is sparse (call ``densify()`` first).

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as rt  # doctest: +SKIP
    >>> from sklearn_gd import GDRegressor
    >>> from sklearn_gd.onnx import to_onnx
    >>> X = np.random.default_rng(0).normal(size=(100, 3)).astype(np.float32)
    >>> model = GDRegressor(random_state=0).fit(X, X @ [1.0, 2.0, 3.0])
    >>> onx = to_onnx(model, X[:1])  # doctest: +SKIP
    >>> session = rt.InferenceSession(onx.SerializeToString())  # doctest: +SKIP
    >>> session.run(None, {"X": X})[0].shape  # doctest: +SKIP
    (100, 1)
    """
    skl2onnx = _import_skl2onnx()
    check_is_fitted(model)
    register_converters()
    kwargs.setdefault("options", {GDClassifier: {"zipmap": False}})
    return skl2onnx.to_onnx(model, np.asarray(X_sample), **kwargs)
