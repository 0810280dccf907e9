"""The multiprocess scrape while a worker starts: prometheus_client creates a worker's file
empty and sizes it afterwards; a scrape in between must still answer (it used to fail whole)."""
from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from acmeeh import metrics


def test_a_file_being_created_is_left_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(tmp_path))
    done = MmapedDict(str(tmp_path / "counter_100.db"))  # a running worker's file
    key = mmap_key("acmeeh_demo_total", "acmeeh_demo_total", [], [], "Demo")
    done.write_value(key, 3.0, 0.0)
    done.close()
    (tmp_path / "gauge_livesum_101.db").touch()  # a starting worker's file, not sized yet
    body, _ = metrics.render(metrics.scrape_registry(started=0.0))
    text = body.decode()
    assert "acmeeh_demo_total 3.0" in text
    assert "acmeeh_uptime_seconds " in text
