"""What the package tells about itself: its versions report and its documentation links."""

import re
from pathlib import Path

import numpy as np
import sklearn

import sklearn_gd
from sklearn_gd import GDClassifier, GDRegressor, show_versions

ROOT = Path(__file__).parent.parent


def test_show_versions_reports_the_package_and_its_dependencies(capsys):
    show_versions()
    out = capsys.readouterr().out
    assert re.search(rf"sklearn-gd: {re.escape(sklearn_gd.__version__)}$", out, re.M)
    assert re.search(rf"numpy: {re.escape(np.__version__)}$", out, re.M)
    assert re.search(rf"scikit-learn: {re.escape(sklearn.__version__)}$", out, re.M)
    assert "python:" in out


def test_show_versions_github_is_a_collapsible_block(capsys):
    show_versions(github=True)
    out = capsys.readouterr().out.strip()
    assert out.startswith("<details>") and out.endswith("</details>")
    assert out.count("<pre>") == 2


def test_html_repr_links_to_the_api_page_the_docs_build():
    """The link names the page autosummary writes for the class (doc/api.rst, generated/)."""
    api = (ROOT / "doc" / "api.rst").read_text()
    assert ":toctree: generated/" in api
    for estimator in (GDClassifier(), GDRegressor()):
        name = type(estimator).__name__
        link = estimator._get_doc_link()
        assert link.endswith(f"/generated/sklearn_gd.{name}.html")
        assert link in estimator._repr_html_()
        assert f"   {name}\n" in api
