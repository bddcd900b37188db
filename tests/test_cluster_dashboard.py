"""The dashboard with a `[cluster]` config views the cluster and never runs an engine of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from shiptrack_tui.cli import main


def test_a_cluster_config_on_sqlite_is_refused_in_one_line(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "shiptrack.toml"
    config.write_text('[cluster]\nnode = "fra-1"\n\n[[monitor]]\nname = "api"\nurl = "http://127.0.0.1:9/"\n')
    db = tmp_path / "st.db"
    assert main(["--config", str(config), "--db", str(db)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "[cluster] needs a PostgreSQL store" in err[0] and str(config) in err[0]
    assert not db.exists()  # nothing opened, nothing checked


def test_a_cluster_config_on_postgresql_opens_a_viewer_not_an_engine(pg_url: str, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from shiptrack_tui.tui import app as tui_app

    config = tmp_path / "shiptrack.toml"
    config.write_text(f'[storage]\nurl = "{pg_url}"\n\n[cluster]\nnode = "fra-1"\n\n'
                      '[[monitor]]\nname = "api"\nurl = "http://127.0.0.1:9/"\n')
    seen: dict[str, object] = {}

    def run(self: tui_app.ShipTrackApp) -> None:  # the screen itself is the Pilot tests' business
        seen.update(viewer_mode=self.viewer_mode, engine=self.engine, config_path=self.config_path)

    monkeypatch.setattr(tui_app.ShipTrackApp, "run", run)
    assert main(["--config", str(config)]) == 0
    assert seen == {"viewer_mode": tui_app.CLUSTER_MODE, "engine": None, "config_path": config}
