"""CloudWatch metrics: the query shapes, GetMetricData and its local twin, and the cached fetch."""
