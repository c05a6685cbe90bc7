"""Disaster recovery: the restore drill on both backends."""
