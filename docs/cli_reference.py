"""Sphinx extension: ``.. diffuseradio-cli::`` inserts every sub-command's ``--help``.

The reference is generated from the parser at build time, so it is always
the command line the package has.
"""

import os

from docutils import nodes
from sphinx.util.docutils import SphinxDirective


class CommandLineHelp(SphinxDirective):
    """The help of ``diffuseradio`` and of each sub-command, one section each."""

    def run(self):
        from diffuseradio.cli import build_parser, subcommands

        os.environ["COLUMNS"] = "88"  # the width argparse wraps help at
        parser = build_parser()
        sections = [nodes.literal_block(text=parser.format_help())]
        for name, command in subcommands(parser).items():
            section = nodes.section(ids=[f"cli-{name}"])
            section += nodes.title(text=f"diffuseradio {name}")
            section += nodes.literal_block(text=command.format_help())
            sections.append(section)
        return sections


def setup(app):
    app.add_directive("diffuseradio-cli", CommandLineHelp)
    return {"parallel_read_safe": True}
