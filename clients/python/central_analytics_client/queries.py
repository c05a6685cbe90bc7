"""The operations the SDK sends (full selection sets of the schema's types)."""

POINTS = "points { timestamp value }"
GET_METRICS = f"""
query GetMetrics($app: String!, $type: MetricType!, $start: String!, $end: String!,
                 $granularity: Granularity, $statistics: [String!], $name: String,
                 $dimensions: [Dimension!], $resource: String) {{
  getMetrics(applicationId: $app, metricType: $type, startTime: $start, endTime: $end,
             granularity: $granularity, statistics: $statistics, metricName: $name,
             dimensions: $dimensions, resource: $resource) {{
    applicationId metricType metricName unit startTime endTime periodSeconds granularity
    series {{ resource statistic dimensions {{ name value }} {POINTS} }}
    fetchedAt stale staleReason
  }}
}}"""
PANEL = f"key title unit hiddenSeries lines {{ name {POINTS} }}"
GET_REALTIME = f"""
query GetRealtime($app: String!) {{
  getRealtimeMetrics(applicationId: $app) {{
    applicationId windowStart windowEnd service {{ {PANEL} }} custom {{ {PANEL} }}
    hiddenMetrics lastDatapointAt ingestLagP50Ms ingestLagP95Ms fetchedAt stale staleReason
  }}
}}"""
FORECAST = "forecast { start end mean lower upper level model }"
GET_COSTS = f"""
query GetCosts($start: String!, $end: String!) {{
  getCostAnalysis(startDate: $start, endDate: $end) {{
    startDate endDate metric currency total byService {{ name amount }}
    byApplication {{ applicationId displayName amount byService {{ name amount }}
                    monthlyBudget {FORECAST} }}
    daily {{ date amount }} untagged {FORECAST} fetchedAt stale notes
  }}
}}"""
UPDATE_FIELDS = ("applicationId metricType metricName unit committedAt "
                 "points { timestamp value dimensions { name value } }")
METRIC_UPDATES = f"""
subscription MetricUpdates($app: String!, $types: [MetricType]!, $names: [String!]) {{
  metricUpdates(applicationId: $app, metricTypes: $types, metricNames: $names) {{
    {UPDATE_FIELDS}
  }}
}}"""
