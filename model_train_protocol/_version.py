"""The package version, one home for the facade, ``mtp --version`` and the HTTP server."""

__version__ = "0.1.0"
