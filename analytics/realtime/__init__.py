"""The Realtime page's data: the last minutes of service and custom metrics of one app."""
