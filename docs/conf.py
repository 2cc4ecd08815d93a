"""Sphinx configuration for diffuseradio (sphinx-astropy, builds offline)."""

import datetime
import sys
from importlib.metadata import version as _version
from pathlib import Path

from sphinx_astropy.conf.v2 import *  # noqa: F403
from sphinx_astropy.conf.v2 import exclude_patterns, extensions, html_theme_options

sys.path.insert(0, str(Path(__file__).parent))

project = "diffuseradio"
author = "The diffuseradio developers"
copyright = f"{datetime.date.today().year}, {author}"
release = _version("diffuseradio")
version = release.split("+")[0]

extensions = [*extensions, "cli_reference"]
# The build machine has no network: intersphinx reads local inventories of the
# objects these docs refer to (written by inventories/make_inventories.py).
from inventories.make_inventories import PROJECTS  # noqa: E402

intersphinx_mapping = {
    project: (url, str(Path(__file__).parent / "inventories" / f"{project}.inv"))
    for project, (url, _) in PROJECTS.items()
}
exclude_patterns = [*exclude_patterns, "_build", "plots"]
html_title = f"{project} v{release}"
html_static_path = ["_static"]
html_theme_options = {
    **html_theme_options,
    "logo": {"text": "diffuseradio"},
    "use_edit_page_button": False,
    "icon_links": [],
}
html_theme_options.pop("external_links", None)
nitpicky = True
nitpick_ignore = [
    # from the docstring of astropy's own Unit class, which JY_PER_BEAM (a unit) shows
    ("py:obj", "Unit"),
    ("py:obj", "UnitBase"),
]
suppress_warnings = ["config.cache"]
