"""``python -m imgconv``: the same as the ``imgconv`` command."""

from .cli import run

run()
