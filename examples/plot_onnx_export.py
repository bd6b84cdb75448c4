"""
Serving a model with ONNX
=========================

A model trained with sklearn-gd is a plain linear model once fitted, so it can
be served without Python, scikit-learn or sklearn-gd: export it to ONNX and run
it with `onnxruntime <https://onnxruntime.ai>`_ (or any other ONNX runtime).
This example trains a pipeline (a scaler and a multinomial ``GDClassifier``)
and a Poisson ``GDRegressor``, exports both with
:func:`sklearn_gd.onnx.to_onnx`, and serves predictions from onnxruntime beside
the models' own.

It needs the optional extra: ``pip install "sklearn-gd[onnx]"`` (skl2onnx and
onnxruntime). Run ``python examples/plot_onnx_export.py``.
"""

import sys

try:
    import onnxruntime as rt
    import skl2onnx  # noqa: F401
except ImportError:
    print(
        'This example needs skl2onnx and onnxruntime: pip install "sklearn-gd[onnx]". Skipping it.'
    )
    sys.exit(0)

import numpy as np  # noqa: E402
from sklearn.datasets import load_wine  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sklearn_gd import GDClassifier, GDRegressor  # noqa: E402
from sklearn_gd.onnx import to_onnx  # noqa: E402

# %%
# Train a classifier
# ------------------
# Three classes of wine from 13 chemical measurements. With ``log_loss`` and
# more than two classes, ``GDClassifier`` trains one multinomial (softmax)
# model; the exported graph computes the same softmax.
X, y = load_wine(return_X_y=True)
X = X.astype(np.float32)  # ONNX runtimes usually serve float32
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
classifier = make_pipeline(StandardScaler(), GDClassifier(random_state=0))
classifier.fit(X_train, y_train)
print(f"test accuracy: {classifier.score(X_test, y_test):.3f}")

# %%
# Export it and serve it
# ----------------------
# ``to_onnx`` takes the fitted model and a few rows of input, whose dtype and
# width fix the graph's input. The graph has two outputs: the labels and the
# class probabilities. ``SerializeToString`` gives the bytes to ship (or write
# ``onx.SerializeToString()`` to a ``.onnx`` file).
onx = to_onnx(classifier, X_train[:1])
print(f"ONNX model: {len(onx.SerializeToString())} bytes")
print("inputs:", [i.name for i in onx.graph.input], "outputs:", [o.name for o in onx.graph.output])

session = rt.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
labels, proba = session.run(None, {"X": X_test})

print("labels agree on every row:", bool((labels == classifier.predict(X_test)).all()))
print(f"max |proba difference|: {np.abs(proba - classifier.predict_proba(X_test)).max():.2e}")

# %%
# The differences are float32 rounding: the graph computes in float32 while the
# model computes in float64.
#
# Regression with a log link
# --------------------------
# ``loss='poisson'`` predicts ``exp(X w + b)``; the exported graph applies the
# same ``exp``. Regressors have one output, of shape ``(n_samples, n_targets)``.
rng = np.random.default_rng(0)
X_counts = rng.normal(size=(500, 4)).astype(np.float32)
counts = rng.poisson(np.exp(X_counts @ np.array([0.3, -0.2, 0.1, 0.0]) + 1.0))
regressor = GDRegressor(loss="poisson", random_state=0).fit(X_counts, counts)

session = rt.InferenceSession(
    to_onnx(regressor, X_counts[:1]).SerializeToString(), providers=["CPUExecutionProvider"]
)
(predicted,) = session.run(None, {"X": X_counts})
expected = regressor.predict(X_counts)
print("first predictions (onnxruntime):", np.round(predicted[:3, 0], 4))
print("first predictions (model):      ", np.round(expected[:3], 4))
print(f"max |relative difference|: {np.abs(predicted[:, 0] / expected - 1).max():.2e}")

# %%
# Decision scores
# ---------------
# skl2onnx's ``raw_scores`` option replaces the probabilities by the scores of
# ``decision_function`` (other options, such as ``zipmap``, are skl2onnx's own;
# :func:`~sklearn_gd.onnx.to_onnx` passes ``options`` through).
onx = to_onnx(
    classifier, X_train[:1], options={GDClassifier: {"zipmap": False, "raw_scores": True}}
)
session = rt.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
scores = session.run(None, {"X": X_test})[1]
difference = np.abs(scores - classifier.decision_function(X_test)).max()
print(f"max |decision_function difference|: {difference:.2e}")
