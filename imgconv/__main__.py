"""``python -m imgconv``: the same as the ``imgconv`` command."""

from .cli import run

if __name__ == "__main__":
    run()
