"""``python -m federation.cli``: the ``medmci`` command line."""

from . import main

main()
