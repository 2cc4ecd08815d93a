"""Print the lowest versions pyproject.toml allows, as pip requirements.

Used by the ``test-oldestdeps`` tox environment: each ``name>=X`` of the
project's dependencies (and of the extras given) becomes ``name==X``.
``torch`` is left out: the CPU build installed first stays.

Usage::

    python scripts/min_requirements.py [EXTRA ...] > requirements-min.txt
"""

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def main():
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in sys.argv[1:]:
        requirements += project["optional-dependencies"][extra]
    for requirement in requirements:
        match = re.match(r"^([A-Za-z0-9_.\-\[\]]+)>=([^,;\s]+)$", requirement.strip())
        if match and not match.group(1).startswith("torch"):
            print(f"{match.group(1)}=={match.group(2)}")


if __name__ == "__main__":
    main()
