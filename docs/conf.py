"""Sphinx configuration: the narrative pages (Markdown, MyST) and the API reference (autodoc).

Build: ``make docs`` (``sphinx-build -W --keep-going -b html docs docs/_build/html``); warnings are
errors, and tests/test_docs.py builds the same way.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the package from this checkout, installed or not

from radam_integrations import __version__  # noqa: E402

project = "radam-integrations"
author = "radam-integrations developers"
copyright = "radam-integrations developers"
release = __version__
version = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# Only pages (.md, .rst) are sources; the build output and the layer whiteboard (docs/layers.json,
# for farm-studio) are not. Images (demo.png, study/*.png) are copied when a page shows them.
exclude_patterns = ["_build", "layers.json", "Thumbs.db", ".DS_Store"]

# MyST: every heading gets an anchor (as on GitHub), so links like page.md#a-heading resolve.
myst_heading_anchors = 6

# autodoc + napoleon: the docstrings are Google style with Sphinx roles.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"

html_theme = "furo"
html_title = f"radam-integrations {release}"


# A name that radam_integrations re-exports from optim/ or warmup/ (RAdam, WarmupDetector, ...) is
# documented on both modules' pages but indexed once, on radam_integrations' page (indexing both
# is a "duplicate object description"). A reference through the submodule
# (:class:`~radam_integrations.warmup.DetectorConfig`, or :class:`DetectorConfig` inside warmup/)
# is sent there, so it links instead of staying plain text.
def _reexports() -> dict[str, str]:
    import importlib

    top = importlib.import_module("radam_integrations")
    homes = {}
    for module_name in ("radam_integrations.optim", "radam_integrations.warmup"):
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if name in top.__all__ and getattr(module, name) is getattr(top, name):
                homes[f"{module_name}.{name}"] = f"radam_integrations.{name}"
    return homes


_REEXPORTS = _reexports()


def _resolve_reexport(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    module, cls = node.get("py:module"), node.get("py:class")
    # As written, or inside the submodule's copy of a class (:meth:`update` in WarmupDetector).
    candidates = [target, *([f"{module}.{cls}.{target}"] if module and cls else [])]
    for candidate in candidates:
        for alias, home in _REEXPORTS.items():
            for name in (alias, alias.rsplit(".", 1)[1]):  # the submodule's path, or the bare name
                if candidate == name or candidate.startswith(name + "."):
                    new_target = home + candidate[len(name) :]
                    py = env.get_domain("py")
                    return py.resolve_xref(
                        env, node["refdoc"], app.builder, node["reftype"], new_target, node, contnode
                    )
    return None


# A constant that a public module re-exports (``radam_integrations.warmup.GROUP_METRICS``, defined
# in warmup/metrics.py) has its ``#:`` comment where it is defined, and autodoc only reads the
# documented module's source: it would show the value's type's docstring (``tuple``'s) instead.
def _defining_comment(app, what, name, obj, options, lines):
    if what != "data" or not name.startswith("radam_integrations."):
        return
    module_name, attr = name.rsplit(".", 1)
    if ("", attr) in _attr_docs(module_name):
        return  # defined where it is documented: autodoc found its comment
    for other in sorted(sys.modules):
        if other.startswith("radam_integrations.") and getattr(sys.modules[other], attr, None) is obj:
            comment = _attr_docs(other).get(("", attr))
            if comment:
                lines[:] = list(comment)
                return
    lines[:] = []


def _attr_docs(module_name: str) -> dict[tuple[str, str], list[str]]:
    from sphinx.pycode import ModuleAnalyzer, PycodeError

    try:
        return ModuleAnalyzer.for_module(module_name).find_attr_docs()
    except PycodeError:
        return {}


# "Bases:" names public classes: a private base (lightning's _DetectorViews) gives way to its own
# bases (its public members are shown through :inherited-members: on that page), and two bases of
# the same name (lightning.pytorch's and pytorch_lightning's Callback) are written out in full.
def _public_bases(app, name, obj, options, bases):
    public, todo = [], list(bases)
    while todo:
        base = todo.pop(0)
        if getattr(base, "__name__", "").startswith("_"):
            todo[:0] = base.__bases__
        elif base not in public:
            public.append(base)
    if len(public) > 1 and object in public:
        public.remove(object)
    names = [getattr(base, "__name__", None) for base in public]
    bases[:] = [
        f":py:class:`{base.__module__}.{base.__qualname__}`" if names.count(base.__name__) > 1 else base
        for base in public
    ]


def setup(app):
    app.connect("missing-reference", _resolve_reexport)
    app.connect("autodoc-process-docstring", _defining_comment)
    app.connect("autodoc-process-bases", _public_bases)
