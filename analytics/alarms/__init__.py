"""Alarms: CloudWatch's evaluation rules, the catalog's alarm config, both sources, the service."""
