"""
Sparse text classification with hashed features
===============================================

``GDClassifier`` trains directly on scipy sparse matrices. This example builds
a small generated corpus of short "reviews" in three topics, turns it into a
hashed bag of words with ``HashingVectorizer`` (a CSR matrix that never needs
a vocabulary), and trains a multinomial logistic regression with Adam on
mini-batches, beside scikit-learn's ``SGDClassifier``.

Each step of Adam updates every coefficient and both of its moment estimates
(the optimizer state is dense), whereas ``SGDClassifier`` updates only the
features present in the row. Keep the hashed width moderate (2**15 here) and
the batches large, so that the cost per row stays low.

Run ``python examples/sparse_text_classification.py`` (``--fast`` for CI).
"""

import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split

from sklearn_gd import GDClassifier

warnings.simplefilter("ignore", ConvergenceWarning)
FAST = "--fast" in sys.argv
rng = np.random.RandomState(0)
TOPICS = {
    "sport": "match goal team season coach league striker keeper win score fans stadium",
    "tech": "phone battery screen software update chip laptop app camera network cloud code",
    "food": "recipe flavour sauce oven spicy dessert bread cheese fresh dinner chef taste",
}
COMMON = "the a and very really good bad great not quite new old this that it was is".split()


def review(topic):
    words = TOPICS[topic].split()
    n = rng.randint(6, 15)
    topical = rng.choice(words, size=rng.binomial(n, 0.35))
    filler = rng.choice(COMMON + sum((t.split() for t in TOPICS.values()), []), size=n)
    return " ".join(rng.permutation(np.concatenate([topical, filler])))


n_docs = 3_000 if FAST else 30_000
labels = rng.choice(list(TOPICS), size=n_docs)
texts = [review(topic) for topic in labels]
X = HashingVectorizer(n_features=2**15, alternate_sign=False, norm="l2").transform(texts)
X_train, X_test, y_train, y_test = train_test_split(X, labels, random_state=0)
print(f"{X.shape[0]} documents, {X.shape[1]} hashed features, "
      f"{X.nnz / X.shape[0]:.1f} non-zeros a row")  # fmt: skip

for model in [
    GDClassifier(loss="log_loss", optimizer="adam", batch_size=256, alpha=1e-5, random_state=0),
    SGDClassifier(loss="log_loss", alpha=1e-5, random_state=0),
]:
    tic = time.perf_counter()
    model.fit(X_train, y_train)
    print(f"{type(model).__name__:<14} accuracy {model.score(X_test, y_test):.4f} "
          f"in {time.perf_counter() - tic:.2f} s")  # fmt: skip
