"""The service's OpenAPI document, as committed in docs/openapi.json:
``python -m scaleready.service.openapi docs/openapi.json`` writes it again."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from scaleready.service.app import create_app
from scaleready.service.settings import Settings


def openapi_text() -> str:
    """The document, as text (the same whatever the settings: they are not in it)."""
    document = create_app(Settings(rounds_dir=Path("rounds"))).openapi()
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(openapi_text(), encoding="utf-8")
