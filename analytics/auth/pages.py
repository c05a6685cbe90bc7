"""Which pages each role gets in the navigation.

Both roles get every page. The difference between ``admin`` and ``viewer`` is in the data layer:
a viewer sees only the apps in their account, and the account-wide parts (Cost Explorer totals,
untagged spend, the dashboard's own spend) are answered for admins only — a total across apps
would let a viewer of one app subtract their way to another app's figures. Hiding a whole page
from viewers would take away their own app's costs for nothing. To make a page admin-only,
give it ``roles=("admin",)`` here; the navigation, deep links and tests follow this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from analytics.core.access import ROLES, Principal


@dataclass(frozen=True)
class PageSpec:
    path: str  # relative to the repository root, as st.Page wants it
    title: str
    icon: str
    roles: tuple[str, ...] = ROLES
    default: bool = False

    @property
    def url_path(self) -> str:
        """Streamlit's url path for a file page: its stem (``app_pages/costs.py`` -> costs)."""
        return PurePosixPath(self.path).stem


PAGES: tuple[PageSpec, ...] = (
    PageSpec("app_pages/overview.py", "Overview", ":material/dashboard:", default=True),
    PageSpec("app_pages/performance.py", "Performance", ":material/speed:"),
    PageSpec("app_pages/realtime.py", "Realtime", ":material/sensors:"),
    PageSpec("app_pages/alarms.py", "Alarms", ":material/notifications_active:"),
    PageSpec("app_pages/costs.py", "Costs", ":material/payments:"),
    PageSpec("app_pages/pipeline.py", "Pipeline", ":material/schedule:", roles=("admin",)),
    # the doctor's checks of the deployment: account-wide, and it spends ~$0.04 per run
    PageSpec("app_pages/setup.py", "Setup", ":material/health_and_safety:", roles=("admin",)),
)
LOGIN_PAGE = "app_pages/login.py"


def pages_for(principal: Principal) -> list[PageSpec]:
    """The pages ``principal`` may open (none when signed out)."""
    if not principal.signed_in:
        return []
    return [p for p in PAGES if principal.role in p.roles]
