"""`python -m hydralite` runs the command line."""

from hydralite.cli.main import main

main()
