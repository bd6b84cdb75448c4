"""Sphinx configuration: numpydoc, autosummary, sphinx-gallery and the pydata theme.

Build offline with ``pip install ".[docs]" && python -m sphinx -W -b html doc doc/_build/html``.
No extension here downloads anything (no intersphinx), so the build needs no network.
"""

import importlib.util
import os
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # for _gallery.py (sphinx-gallery's hooks)

import sklearn_gd  # noqa: E402

project = "sklearn-gd"
author = "The sklearn-gd developers"
copyright = "2026, The sklearn-gd developers"
release = sklearn_gd.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
default_role = "literal"

# --- API reference --------------------------------------------------------------------
autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False  # the class template lists the methods itself
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# --- the gallery ------------------------------------------------------------------------
# Every example runs (not only plot_*), in its fast mode (``--fast``) unless
# SKLEARN_GD_DOCS_FULL=1. An example that needs an extra the docs extra does not
# have here is left out of the gallery instead of failing the build.
EXAMPLE_NEEDS = {
    "dask_out_of_core": ("dask", "distributed", "dask_ml"),
    "plot_onnx_export": ("skl2onnx", "onnxruntime"),
}
ignore = [
    name
    for name, modules in EXAMPLE_NEEDS.items()
    if not all(importlib.util.find_spec(module) for module in modules)
]
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/",
    "ignore_pattern": r"__init__\.py" + "".join(f"|{name}" for name in ignore),
    "reset_argv": "_gallery.reset_argv",
    "reset_modules": ("matplotlib", "_gallery.reset_warnings"),
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("sklearn_gd",),
    "backreferences_dir": os.path.join("generated", "backreferences"),
    "reference_url": {"sklearn_gd": None},
    "remove_config_comments": True,
    "min_reported_time": 1,
    "show_memory": False,
    "download_all_examples": False,
}

# --- the plot directive (figures in the user guide) ------------------------------------
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 90)]
plot_rcparams = {"figure.figsize": (6.5, 3.6)}

# --- HTML ----------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-gd {release}"
html_static_path = []
html_theme_options = {
    "navbar_end": ["navbar-icon-links"],
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_show_sourcelink = False
html_context = {"default_mode": "light"}


# --- members inherited from scikit-learn or Python ----------------------------------------
def _skip_foreign_member(app, what, name, obj, skip, options):
    """Document only the methods and properties written in sklearn-gd.

    Members inherited from scikit-learn (``get_params``, ``score``, the metadata
    routing requests) or from Python's exceptions are documented there, and their
    docstrings cross-reference pages of those projects that do not exist here.
    """
    function = obj.fget if isinstance(obj, property) else obj
    if callable(function) or isinstance(obj, property):
        module = getattr(function, "__module__", None) or ""
        if not module.startswith("sklearn_gd"):
            return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_member)
