"""Errors a user can cause when choosing a backbone; tools print them as one line."""


class BackboneError(ValueError):
    """A backbone name, config or weights source that cannot be used."""
