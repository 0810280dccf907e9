"""Import first in every bench script: puts the repository's src/ and tests/ on sys.path, so
`acmeeh` (before `pip install -e .`) and the raw client `support.acme_client` import."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

for _path in (str(ROOT / "tests"), str(ROOT / "src")):
    if _path not in sys.path:
        sys.path.insert(0, _path)
