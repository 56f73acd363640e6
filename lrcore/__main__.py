"""``python -m lrcore``: the ``lrcore`` command (the same as the console script)."""

from lrcore.cli import main

if __name__ == "__main__":
    main()
