"""The `hydralite` command: Hydra's CLI with the name changed."""
