"""local backend: costs queries (filled by its issue)."""


class LocalCostsMixin:
    """Mixed into :class:`analytics.backends.local.LocalBackend`."""
