"""aws backend: costs queries (filled by its issue)."""


class AwsCostsMixin:
    """Mixed into :class:`analytics.backends.aws.AwsBackend`."""
