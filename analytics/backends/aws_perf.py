"""aws backend: perf queries (filled by its issue)."""


class AwsPerfMixin:
    """Mixed into :class:`analytics.backends.aws.AwsBackend`."""
