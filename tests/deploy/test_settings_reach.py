"""Every setting in the README's table reaches the service that uses it (issue 9, item 3).

compose passes a container only the variables its ``environment`` names, so a setting written
to ``.env`` but not named there never arrives. tests/containers/ proves it on running containers.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.deploy.conftest import ROOT
from tests.deploy.readme_table import SERVICES, rows, settings_by_service

COMPOSE_TEXT = (ROOT / "compose.yaml").read_text()


def _passes_on(name: str, value: object, service: dict[str, Any]) -> bool:
    """Value-less (taken from .env or the shell) or interpolated from the same name."""
    if value is None:
        return True
    return f"${{{name}" in str(value) or f"${{{name}" in str(service.get("ports", ""))


NEVER_PASSED = "compose: never passed"  # in the table's default column: on purpose


@pytest.mark.parametrize("service_name", SERVICES)
def test_every_table_setting_is_named_for_its_service(
    compose: dict[str, Any], service_name: str
) -> None:
    env = compose["services"][service_name]["environment"]
    wanted = {n for n in settings_by_service()[service_name] if NEVER_PASSED not in rows()[n][0]}
    missing = sorted(wanted - set(env))
    assert missing == [], f"README settings that never reach {service_name}: {missing}"


@pytest.mark.parametrize("service_name", SERVICES)
def test_a_fixed_value_is_marked_fixed_in_the_table(
    compose: dict[str, Any], service_name: str
) -> None:
    service = compose["services"][service_name]
    table = rows()
    for name in settings_by_service()[service_name]:
        if NEVER_PASSED in table[name][0]:
            assert name not in service["environment"], name
            continue
        value = service["environment"][name]
        if not _passes_on(name, value, service):
            assert "compose: fixed" in table[name][0], f"{name}: .env cannot change it"


def test_compose_level_settings_are_interpolated() -> None:
    for name, (_, used_by) in rows().items():
        if used_by == "compose":
            assert f"${{{name}" in COMPOSE_TEXT, name


def test_every_setting_compose_names_is_in_the_table(compose: dict[str, Any]) -> None:
    named = {k for s in compose["services"].values() for k in s["environment"]}
    named |= set(re.findall(r"\$\{(TREE_[A-Z0-9_]+)", COMPOSE_TEXT))
    assert named - set(rows()) == set()


def test_value_less_entries_are_really_value_less(compose: dict[str, Any]) -> None:
    """`KEY:` parses as None: Compose v2 then takes the value from .env or the shell."""
    web = compose["services"]["web"]["environment"]
    assert web["TREE_ADMIN_TOKEN"] is None and web["TREE_SECRET_KEY"] is None
