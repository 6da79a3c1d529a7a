"""The schema as SDL: what `esv schema export` writes and what clients and gateways build on."""
from __future__ import annotations

from pathlib import Path

COMMITTED = Path(__file__).resolve().parents[1] / "clients" / "schema.graphql"


def export_sdl() -> str:
    """The federated subgraph SDL (with @key and @link), ending in a newline."""
    from esupervision.api.schema import schema
    return schema.as_str().rstrip() + "\n"
