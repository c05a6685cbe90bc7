"""Backends: one protocol (:class:`Backend`), two implementations (``aws`` and ``local``)."""

from analytics.backends.base import Backend, empty_tidy, tidy

__all__ = ["Backend", "empty_tidy", "tidy"]
