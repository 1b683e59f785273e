"""``python -m leftbehind``: the same as the ``leftbehind`` command."""

from leftbehind.cli import main

if __name__ == "__main__":
    main()
