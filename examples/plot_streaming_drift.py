"""
Streaming with partial_fit over a drifting stream
=================================================

``partial_fit`` trains on one chunk at a time, keeping the optimizer state
(Adam's moments, the step count) between calls, so a model can follow data
that arrive in chunks and change over time. Here the decision boundary of a
binary problem rotates slowly; a model updated chunk by chunk keeps up, while
a model fitted once on the first chunks falls behind. Each chunk is scored
before the model learns from it ("test then train"), the honest way to
evaluate a stream.

Run ``python examples/plot_streaming_drift.py`` (``--fast`` for CI).
"""

import sys

import matplotlib.pyplot as plt
import numpy as np

from sklearn_gd import GDClassifier

FAST = "--fast" in sys.argv
rng = np.random.RandomState(0)
n_chunks, chunk = (60, 200) if FAST else (300, 500)


def read_chunk(i):
    """The i-th chunk of the stream: the true boundary turns by 180 degrees overall."""
    angle = np.pi * i / n_chunks
    X = rng.normal(size=(chunk, 2))
    y = (X @ [np.cos(angle), np.sin(angle)] + 0.3 * rng.normal(size=chunk) > 0).astype(int)
    return X, y


stream = GDClassifier(optimizer="adam", learning_rate=0.05, batch_size=50, random_state=0)
frozen = GDClassifier(random_state=0)
first = [read_chunk(i) for i in range(5)]
frozen.fit(np.vstack([c[0] for c in first]), np.hstack([c[1] for c in first]))
for X, y in first:
    stream.partial_fit(X, y, classes=[0, 1])

scores = {"partial_fit on every chunk": [], "fit once on the first chunks": []}
for i in range(5, n_chunks):
    X, y = read_chunk(i)
    scores["partial_fit on every chunk"].append(stream.score(X, y))  # test, then train
    scores["fit once on the first chunks"].append(frozen.score(X, y))
    stream.partial_fit(X, y)

fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
for label, values in scores.items():
    ax.plot(range(5, n_chunks), values, label=label)
    print(f"{label:<30} mean accuracy {np.mean(values):.3f}, "
          f"last 10 chunks {np.mean(values[-10:]):.3f}")  # fmt: skip
ax.set(xlabel="chunk", ylabel="accuracy on the next chunk", title="A drifting stream")
ax.legend()
print(f"optimizer steps taken by the stream model: {stream.t_}")
plt.show()
