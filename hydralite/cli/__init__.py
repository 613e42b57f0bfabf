"""The `hydralite` command: Hydra's CLI with the name changed."""


class CommandError(Exception):
    """A failure to report as one line on stderr (what failed and what to do), exit status 1."""
