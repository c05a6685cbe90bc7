"""aws backend: custom queries (filled by its issue)."""


class AwsCustomMixin:
    """Mixed into :class:`analytics.backends.aws.AwsBackend`."""
