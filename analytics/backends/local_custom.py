"""local backend: custom queries (filled by its issue)."""


class LocalCustomMixin:
    """Mixed into :class:`analytics.backends.local.LocalBackend`."""
