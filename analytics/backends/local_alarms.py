"""local backend: alarms queries (filled by its issue)."""


class LocalAlarmsMixin:
    """Mixed into :class:`analytics.backends.local.LocalBackend`."""
