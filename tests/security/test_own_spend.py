"""The dashboard's own AWS spend is account-level: admins of every app only, as docs/auth.md
says. Before, every viewer's Costs page showed it."""

from __future__ import annotations

import pytest

from analytics.core import access
from analytics.core.access import Principal
from analytics.costs.own_spend import own_spend
from analytics.sources import Runtime
from tests.helpers import signed_in_app

PAGE = "app_pages/costs.py"


def _shows_own_spend(at) -> bool:
    return any("own AWS spend" in s.value for s in at.subheader) or any(
        m.label == "Projected this month" for m in at.metric)


def test_a_viewer_never_sees_the_dashboards_own_spend(installed_runtime: Runtime) -> None:
    at = signed_in_app(PAGE, apps=["jobseek"], username="js-viewer", role="viewer").run()
    assert not at.exception and not _shows_own_spend(at)
    admin = signed_in_app(PAGE).run()
    assert not admin.exception and _shows_own_spend(admin)


@pytest.mark.parametrize("principal", [Principal("v", "viewer", None),
                                       Principal("v", "viewer", frozenset({"jobseek"})),
                                       Principal("a", "admin", frozenset({"jobseek"}))])
def test_the_data_layer_refuses_it_to_anyone_but_an_admin_of_every_app(
        installed_runtime: Runtime, principal: Principal) -> None:
    access.set_principal(principal)
    try:
        with pytest.raises(access.AccessDenied, match="admins only"):
            own_spend(installed_runtime)
        access.set_principal(Principal("root", "admin", None))
        assert own_spend(installed_runtime).backend == "local"
    finally:
        access.set_principal(None)
