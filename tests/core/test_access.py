"""The data layer's access rule for one app id, as every service applies it."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.core import access
from analytics.core.catalog import load_catalog

CATALOG = load_catalog(Path(__file__).resolve().parents[2] / "apps.toml")


def test_a_visible_app_is_returned_from_the_catalog() -> None:
    # GIVEN a viewer of jobseek
    access.set_principal(access.Principal("v", "viewer", frozenset({"jobseek"})))
    try:
        # WHEN a service asks for jobseek
        app = access.visible_app(CATALOG, "jobseek")
        # THEN it gets the catalog's app
        assert app is CATALOG.get("jobseek")
    finally:
        access.set_principal(None)


def test_a_hidden_app_is_denied_before_its_existence_is_told() -> None:
    # GIVEN a viewer of jobseek only
    access.set_principal(access.Principal("v", "viewer", frozenset({"jobseek"})))
    try:
        # WHEN a service asks for another app, known or not
        # THEN both are the same refusal: the viewer learns nothing about other apps
        with pytest.raises(access.AccessDenied, match="'ilikeyacut'"):
            access.visible_app(CATALOG, "ilikeyacut")
        with pytest.raises(access.AccessDenied, match="'nope'"):
            access.visible_app(CATALOG, "nope")
    finally:
        access.set_principal(None)


def test_an_unknown_app_names_the_known_ones_to_a_trusted_caller() -> None:
    # GIVEN no principal (the CLI, the pipeline)
    # WHEN an unknown id is asked for
    # THEN the error lists the catalog's apps
    with pytest.raises(ValueError, match=r"unknown application 'nope'.*ilikeyacut"):
        access.visible_app(CATALOG, "nope")
