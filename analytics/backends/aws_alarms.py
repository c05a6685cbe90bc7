"""aws backend: alarms queries (filled by its issue)."""


class AwsAlarmsMixin:
    """Mixed into :class:`analytics.backends.aws.AwsBackend`."""
