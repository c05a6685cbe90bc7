"""local backend: perf queries (filled by its issue)."""


class LocalPerfMixin:
    """Mixed into :class:`analytics.backends.local.LocalBackend`."""
