"""The metrics table's stream processor: new datapoints published to AppSync subscribers."""
