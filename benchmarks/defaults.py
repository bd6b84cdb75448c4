"""Evidence for the estimators' defaults, on every dataset bundled with scikit-learn.

Prints five tables (markdown), each a row per dataset:

1. ``GDClassifier()`` 5-fold accuracy minus ``LogisticRegression()``'s, and
   ``SGDClassifier()``'s minus it, all after ``StandardScaler``.
2. ``GDRegressor()`` 5-fold R^2 minus ``Ridge()``'s with the target in its own
   units and rescaled by 1e-3 ... 1e4 (the API's "Units" promise), and
   ``SGDRegressor()``'s at the original units.
3. The objective gap of a default fit to the exact optimum of the same
   objective (``LogisticRegression(C=1/(alpha n))``, ``Ridge(alpha=alpha n)``),
   for ``batch_size='auto'`` (the default) and ``'full'``, with the epochs run.
4. Early stopping: held-out accuracy / R^2 with and without
   ``restore_best_weights`` (5 splits, the estimator's default ``scoring``).
5. The learning-rate finder: the default's 5-fold score and the score of the
   finder's suggestion.
6. The objective gap at the defaults on problems of 30,000 to 50,000 rows (more
   than the bundled datasets hold: 118 to 196 batches an epoch, where the
   stopping rule of 'auto' judges single epochs), for two seeds.

    python benchmarks/defaults.py [--quick] [--only accuracy,regression,gaps,early,finder,midsize]

In the objective-gap table, W marks a fit that gave a ``ConvergenceWarning``.
"""

import argparse
import warnings

import numpy as np
from scipy import sparse
from sklearn.base import clone, is_classifier
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_linnerud,
    load_wine,
    make_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import (
    LogisticRegression,
    Ridge,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_gd import GDClassifier, GDRegressor, find_learning_rate

warnings.simplefilter("ignore", ConvergenceWarning)
SECTIONS = ("accuracy", "regression", "gaps", "early", "finder", "midsize")
SCALES = (1e-3, 1e-1, 1.0, 1e2, 1e4)  # the target scales of the regression table


def classification_sets():
    yield "breast_cancer", *load_breast_cancer(return_X_y=True)
    yield "iris", *load_iris(return_X_y=True)
    yield "wine", *load_wine(return_X_y=True)
    yield "digits", *load_digits(return_X_y=True)


def regression_sets():
    X, y = load_diabetes(return_X_y=True)
    yield "diabetes", X, y
    # linnerud: 20 men, three exercises -> weight (lb, ~180), a real target in large units.
    X, Y = load_linnerud(return_X_y=True)
    yield "linnerud weight", X, Y[:, 0]
    yield "linnerud all 3 targets", X, Y


def cv_score(estimator, X, y):
    return cross_val_score(make_pipeline(StandardScaler(), estimator), X, y, cv=5).mean()


def row(cells):
    print("| " + " | ".join(cells) + " |")


def header(title, columns):
    print(f"\n## {title}\n")
    row(columns)
    row(["---"] * len(columns))


def objective(est, X, y, coef, intercept):
    """The GD objective ``mean loss + alpha * ||w||^2 / 2`` at ``(coef, intercept)``."""
    raw = X @ np.atleast_2d(coef).T + intercept
    if is_classifier(est):
        classes = np.unique(y)
        if len(classes) == 2:
            z = raw[:, 0] * np.where(y == classes[1], 1.0, -1.0)
            data = np.logaddexp(0, -z).mean()
        else:
            onehot = (y[:, None] == classes).astype(float)
            data = (np.logaddexp.reduce(raw, axis=1) - (onehot * raw).sum(1)).mean()
    else:
        data = 0.5 * ((y.reshape(len(y), -1) - raw) ** 2).sum(1).mean()
    return data + 0.5 * est.alpha * float(np.sum(np.square(coef)))


def exact(est, X, y):
    n = X.shape[0]
    if is_classifier(est):
        ref = LogisticRegression(C=1 / (est.alpha * n), tol=1e-12, max_iter=10_000).fit(X, y)
    else:
        ref = Ridge(alpha=est.alpha * n, solver="cholesky").fit(X, y)
    return objective(est, X, y, ref.coef_, ref.intercept_)


def main():
    global SCALES
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="target scales 1e-3, 1 and 1e4 only in the regression table",
    )
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated tables to print, of {','.join(SECTIONS)}",
    )
    args = parser.parse_args()
    only = args.only.split(",")
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown table(s) {unknown}; choose from {','.join(SECTIONS)}")
    if args.quick:
        SCALES = (1e-3, 1.0, 1e4)
    sets = [(n, X, y, GDClassifier) for n, X, y in classification_sets()]
    sets += [(n, X, y, GDRegressor) for n, X, y in regression_sets()]
    for name in only:
        globals()[f"{name}_table"](sets)


def accuracy_table(sets):
    header(
        "Classification: 5-fold accuracy minus LogisticRegression()'s",
        ["dataset", "LogisticRegression", "GDClassifier()", "SGDClassifier()"],
    )
    for name, X, y in classification_sets():
        ref = cv_score(LogisticRegression(), X, y)
        gd = cv_score(GDClassifier(random_state=0), X, y)
        sgd = cv_score(SGDClassifier(random_state=0), X, y)
        row([name, f"{ref:.4f}", f"{gd - ref:+.4f}", f"{sgd - ref:+.4f}"])


def regression_table(sets):
    header(
        "Regression: 5-fold R^2 minus Ridge()'s, target times c",
        ["dataset", "Ridge", *(f"GDRegressor() c={c:g}" for c in SCALES), "SGDRegressor() c=1"],
    )
    for name, X, y in regression_sets():
        ref = cv_score(Ridge(), X, y)
        cells = [f"{cv_score(GDRegressor(random_state=0), X, c * y) - ref:+.4f}" for c in SCALES]
        sgd = cv_score(SGDRegressor(random_state=0), X, y) if y.ndim == 1 else np.nan
        row([name, f"{ref:.4f}", *cells, f"{sgd - ref:+.4f}"])


def gaps_table(sets):
    header(
        "Objective gap to the exact optimum at the defaults (epochs run, W: warned)",
        ["dataset", "batch_size='auto'", "batch_size='full'"],
    )
    for name, X, y, cls in sets:
        X = StandardScaler().fit_transform(X)
        cells = []
        for batch_size in ("auto", "full"):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                est = cls(random_state=0, batch_size=batch_size).fit(X, y)
            warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
            best = exact(est, X, y)
            gap = (objective(est, X, y, est.coef_, est.intercept_) - best) / abs(best)
            cells.append(f"{gap:.2e} ({est.n_iter_}{' W' if warned else ''})")
        row([name, *cells])


def midsize_sets():
    from bench import hashed_corpus  # benchmarks/bench.py

    for k in (2, 3, 5):  # scikit-learn SGD's alpha, as in bench.py's sparse rows
        yield f"hashed text 30,000 x 2^14, {k} classes, alpha=1e-4", *hashed_corpus(
            30_000, 2**14, 0.005, k
        ), GDClassifier(alpha=1e-4)  # fmt: skip
    for n, k in ((30_000, 2), (50_000, 3), (40_000, 10)):
        X, y = make_classification(n, 50, n_informative=20, n_classes=k, random_state=0)
        yield f"make_classification {n:,} x 50, {k} classes", X, y, GDClassifier()
    X, y = make_regression(40_000, 20, noise=10.0, random_state=0)
    yield "make_regression 40,000 x 20", X, y, GDRegressor()


def midsize_table(sets):
    header(
        "Objective gap to the exact optimum at the defaults, 30,000-50,000 rows (epochs run)",
        ["problem", "random_state=0", "random_state=1"],
    )
    for name, X, y, est in midsize_sets():
        if not sparse.issparse(X):
            X = StandardScaler().fit_transform(X)
        fits = [clone(est).set_params(random_state=seed).fit(X, y) for seed in (0, 1)]
        best = exact(fits[0], X, y)
        cells = []
        for m in fits:
            gap = (objective(m, X, y, m.coef_, m.intercept_) - best) / abs(best)
            cells.append(f"{gap:.1e} ({m.n_iter_})")
        row([name, *cells])


def early_table(sets):
    header(
        "Early stopping: held-out score, last weights vs restored best (mean of 5 splits)",
        ["dataset", "last weights", "restore_best_weights=True"],
    )
    for name, X, y, cls in sets:
        scores = {False: [], True: []}
        for seed in range(5):
            X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=seed)
            for restore in scores:
                est = make_pipeline(StandardScaler(), cls(
                    early_stopping=True, restore_best_weights=restore, random_state=seed
                ))  # fmt: skip
                scores[restore].append(est.fit(X_tr, y_tr).score(X_te, y_te))
        row([name, *(f"{np.mean(s):.4f}" for s in scores.values())])


def finder_table(sets):
    header(
        "Learning-rate finder: 5-fold score of the default and of the suggestion",
        ["dataset", "default learning_rate", "default score", "suggestion", "its score"],
    )
    for name, X, y, cls in sets:
        est = cls(random_state=0)
        Xs = StandardScaler().fit_transform(X)
        suggestion = find_learning_rate(clone(est), Xs, y, random_state=0).suggestion
        tuned = clone(est).set_params(learning_rate=suggestion)
        row([name, f"{est.learning_rate:g}", f"{cv_score(est, X, y):.4f}", f"{suggestion:.3g}",
             f"{cv_score(tuned, X, y):.4f}"])  # fmt: skip


if __name__ == "__main__":
    main()
