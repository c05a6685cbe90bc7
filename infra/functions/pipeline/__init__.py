"""The pipeline's Lambda handlers: the dashboard's own pipeline steps, one per Step Functions
state (the container image ships the ``analytics`` package beside this one)."""
