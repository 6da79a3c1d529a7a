"""The committed SDL (clients/schema.graphql) is what the code serves: clients and gateways are
built on that file, so a schema change without a new export fails here."""
from __future__ import annotations

import difflib
import re

from esupervision.api.sdl import COMMITTED, export_sdl

EXPORT_COMMAND = "esv schema export -o clients/schema.graphql"


def test_the_committed_sdl_is_the_served_schema() -> None:
    served = export_sdl()
    committed = COMMITTED.read_text(encoding="utf-8") if COMMITTED.exists() else ""
    if committed != served:
        diff = "".join(list(difflib.unified_diff(committed.splitlines(keepends=True), served.splitlines(keepends=True),
                                                 "clients/schema.graphql (committed)", "export_sdl() (served)"))[:60])
        raise AssertionError(f"clients/schema.graphql differs from the schema the code serves; run\n\n"
                             f"    {EXPORT_COMMAND}\n\nand commit the file. First differences:\n{diff}")


def test_the_sdl_is_a_federation_v2_subgraph_with_its_entities() -> None:
    sdl = export_sdl()
    assert re.search(r'schema @link\(url: "https://specs\.apollo\.dev/federation/v2\.\d+"', sdl)
    keys = {name: re.findall(r'@key\(fields: "([^"]+)"\)', header)
            for name, header in re.findall(r"^type (\w+)((?: @\w+\([^)]*\))*) \{", sdl, re.M)}
    assert {name: keys[name] for name in ("Center", "Department", "Window", "Item", "Case")} == {
        "Center": ["id"], "Department": ["id"], "Window": ["id"], "Item": ["id"], "Case": ["id", "number"]}
    assert "type Subscription {" in sdl and "lightChanged(" in sdl and "caseEvents(" in sdl
