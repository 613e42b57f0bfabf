"""hydralite: a small, fast, async OAuth 2.0 and OpenID Connect server speaking Ory Hydra's HTTP API."""

__version__ = "0.1.0"
#: The Hydra API version hydralite answers to (REFERENCE.md is read off v26.2).
HYDRA_VERSION = "v26.2.0"
