"""The README's settings table names every setting the code reads, each once, with its default and
whether production must set it; and no variable that the code does not read."""
from __future__ import annotations

import re
from pathlib import Path

from esupervision.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
PLAIN_NAMES = {"database_url": "DATABASE_URL", "redis_url": "REDIS_URL", "rabbitmq_url": "RABBITMQ_URL"}


def settings_table() -> dict[str, list[str]]:
    """The rows of the table under ``## Configuration``: variable -> the other cells."""
    section = README.read_text(encoding="utf-8").split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        match = re.match(r"^\| `([A-Z0-9_]+)` \|(.*)\|$", line)
        if match:
            assert match[1] not in rows, f"{match[1]} listed twice"
            rows[match[1]] = [cell.strip() for cell in match[2].split("|")]
    return rows


def test_every_setting_is_in_the_readme_table_with_its_default_and_production_need():
    expected = {PLAIN_NAMES.get(name, f"ESV_{name.upper()}") for name in Settings.model_fields}
    rows = settings_table()
    assert sorted(expected - set(rows)) == [], "settings missing from the README table"
    assert sorted(set(rows) - expected) == [], "README rows for settings the code does not read"
    assert all(len(cells) == 3 and all(cells) for cells in rows.values()), "default, production, meaning"
    for secret in ("ESV_JWT_SECRET", "ESV_LEDGER_SIGNING_KEY"):
        assert "refused" in rows[secret][1]
