# ruff: noqa: E501  (the table holds exact one-line messages; wrapping them would hide them)
"""`[cluster]`, `locations` and `confirm` in the config, and the config hash nodes publish (DESIGN §12)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from shiptrack_tui.config import ConfigError, add_monitor, fields_from_spec, load_config, parse_config
from shiptrack_tui.config.checker import Checker
from shiptrack_tui.config.cluster import cluster_config_hash, monitor_locations, read_cluster
from shiptrack_tui.config.settings import ClusterSettings, Config
from shiptrack_tui.config.warnings import config_warnings
from shiptrack_tui.core.cluster import wanted_keys

M = '[[monitor]]\nname = "api"\nurl = "https://example.com/health"\n'
THREE = 'locations = ["eu-west", "us-east", "ap-south"]\n'


def load(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "cfg.toml"
    path.write_text(text)
    return load_config(path)


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "cfg.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [line.replace(str(path), "cfg.toml") for line in caught.value.problems]


def test_without_a_cluster_table_it_is_a_single_machine(tmp_path: Path) -> None:
    config = load(tmp_path, M)
    assert config.cluster is None
    (api,) = config.monitors
    assert (api.locations, api.confirm) == ((), 1)
    assert config_warnings(config) == []


def test_node_and_location_default_to_the_host_name(tmp_path: Path) -> None:
    assert load(tmp_path, "[cluster]\n" + M).cluster == ClusterSettings(
        node=socket.gethostname(), location=socket.gethostname(), lease=20.0)


def test_a_full_cluster_table(tmp_path: Path) -> None:
    config = load(tmp_path, '[cluster]\nnode = "fra-1"\nlocation = "eu-west"\nlease = "30s"\n' + M)
    assert config.cluster == ClusterSettings(node="fra-1", location="eu-west", lease=30.0)
    assert load(tmp_path, "[cluster]\nlease = 300\n" + M).cluster == ClusterSettings(
        socket.gethostname(), socket.gethostname(), 300.0)


def test_an_unusable_host_name_asks_for_a_node_name() -> None:
    ck = Checker("cfg.toml", "[cluster]\nlease = 20\n")
    settings = read_cluster(ck, {"lease": 20}, hostname=lambda: "my laptop")
    assert ck.problems == [
        'cfg.toml:1: [cluster] node is not set and the host name "my laptop" cannot be one; set node = "..." (use letters, digits, ".", "_" and "-", starting with a letter or digit)',
        'cfg.toml:1: [cluster] location is not set and the host name "my laptop" cannot be one; set location = "..." (use letters, digits, ".", "_" and "-", starting with a letter or digit)',
    ]
    assert settings is not None
    ck = Checker("cfg.toml", '[cluster]\nnode = "a"\nlocation = "b"\n')
    assert read_cluster(ck, {"node": "a", "location": "b"}, hostname=lambda: "my laptop") == ClusterSettings("a", "b")
    assert ck.problems == []


def test_locations_and_confirm_come_from_defaults_or_the_monitor(tmp_path: Path) -> None:
    config = load(tmp_path, "[cluster]\n[defaults]\n" + THREE + "confirm = 2\n\n" + M
                  + '\n[[monitor]]\nname = "eu"\nurl = "tcp://db.internal:5432"\nlocations = ["eu-west", "eu-central"]\n'
                  + '\n[[monitor]]\nname = "solo"\nurl = "https://example.com/solo"\nlocations = ["us-east"]\nconfirm = 1\n'
                  + '\n[[monitor]]\nname = "all"\nurl = "https://example.com/all"\nconfirm = 3\n'
                  + '\n[[monitor]]\nname = "job"\npush = true\n')
    assert config.defaults.locations == ("eu-west", "us-east", "ap-south") and config.defaults.confirm == 2
    got = {spec.name: (spec.locations, spec.confirm) for spec in config.monitors}
    assert got == {
        "api": (("eu-west", "us-east", "ap-south"), 2),
        "eu": (("eu-west", "eu-central"), 2),
        "solo": (("us-east",), 1),
        "all": (("eu-west", "us-east", "ap-south"), 3),
        "job": ((), 1),  # a push monitor is checked by its pings, from nowhere
    }
    assert monitor_locations(config)["eu"] == ("eu-west", "eu-central")
    assert wanted_keys(monitor_locations(config))[:4] == [("api", ""), ("api", "eu-west"), ("api", "us-east"),
                                                          ("api", "ap-south")]


def test_locations_without_a_cluster_warn_that_one_machine_checks_them(tmp_path: Path) -> None:
    config = load(tmp_path, M + THREE)
    assert config_warnings(config) == [
        f"{config.path}: warning: monitors with locations (api) are checked from several locations only by a cluster, and there is no [cluster] table: this machine checks them alone; add [cluster] (with [storage] url) on each node"]


BROKEN = [
    pytest.param('[cluster]\nnode = ""\n', 'cfg.toml:2: [cluster] node "" must not be empty; expected a string like "fra-1"', id="node_empty"),
    pytest.param('[cluster]\nnode = "fra 1"\n', 'cfg.toml:2: [cluster] node "fra 1" cannot be a name; use letters, digits, ".", "_" and "-", starting with a letter or digit (at most 100), like "fra-1"', id="node_space"),
    pytest.param('[cluster]\nnode = "a"\nlocation = 5\n', 'cfg.toml:3: [cluster] location 5 must be a string like "eu-west", not an integer', id="location_type"),
    pytest.param('[cluster]\nlease = "2s"\n', 'cfg.toml:2: [cluster] lease "2s" is below the minimum of 5s; use "5s" or more', id="lease_short"),
    pytest.param('[cluster]\nlease = "10m"\n', 'cfg.toml:2: [cluster] lease "10m" is above the maximum of 5m (a dead node\'s monitors wait up to a lease for a new owner); use "20s" to "5m"', id="lease_long"),
    pytest.param('[cluster]\nnodes = "a"\n', 'cfg.toml:2: unknown key "nodes" in [cluster]; expected one of node, location, lease, source_address (did you mean "node"?)', id="unknown_key"),
    pytest.param('cluster = "fra-1"\n', 'cfg.toml:1: cluster must be a table written [cluster], not a string', id="not_a_table"),
    pytest.param(M + 'locations = "eu-west"\n', 'cfg.toml:4: monitor "api": locations "eu-west" must be a list of location names like ["eu-west", "us-east", "ap-south"], not a string', id="locations_type"),
    pytest.param(M + 'locations = []\n', 'cfg.toml:4: monitor "api": locations [] is empty; list where to check from, like ["eu-west", "us-east", "ap-south"], or remove the key', id="locations_empty"),
    pytest.param(M + 'locations = [\n  "eu-west",\n  "us-east",\n  "eu-west",\n]\n', 'cfg.toml:7: monitor "api": locations lists "eu-west" twice (items 1 and 3); name each location once', id="locations_twice"),
    pytest.param(M + 'locations = ["eu-west", "eu west"]\n', 'cfg.toml:4: monitor "api": locations item 2 "eu west" cannot be a name; use letters, digits, ".", "_" and "-", starting with a letter or digit (at most 100), like "eu-west"', id="locations_bad_name"),
    pytest.param(M + THREE + 'confirm = 0\n', 'cfg.toml:5: monitor "api": confirm 0 must be at least 1', id="confirm_zero"),
    pytest.param(M + THREE + 'confirm = "2"\n', 'cfg.toml:5: monitor "api": confirm "2" must be a whole number of at least 1, not a string', id="confirm_type"),
    pytest.param(M + THREE + 'confirm = 4\n', 'cfg.toml:5: monitor "api": confirm 4 is more than the 3 locations listed; expected 1 to 3', id="confirm_too_many"),
    pytest.param(M + 'confirm = 2\n', 'cfg.toml:4: monitor "api": confirm 2 has no locations to confirm from; add locations = ["eu-west", "us-east", "ap-south"] or remove confirm', id="confirm_alone"),
    pytest.param('[defaults]\nconfirm = 2\n', 'cfg.toml:2: [defaults] confirm 2 has no locations to confirm from; add locations = ["eu-west", "us-east", "ap-south"] or remove confirm', id="defaults_confirm_alone"),
    pytest.param('[defaults]\nlocations = ["eu-west"]\nconfirm = 2\n', 'cfg.toml:3: [defaults] confirm 2 is more than the 1 location listed; expected 1', id="defaults_confirm_too_many"),
    pytest.param('[defaults]\n' + THREE + 'confirm = 3\n\n' + M + 'locations = ["eu-west", "us-east"]\n', 'cfg.toml:8: monitor "api": locations lists 2 locations, fewer than confirm = 3 from [defaults]; set confirm = 1 to 2 on this monitor', id="inherited_confirm_too_many"),
    pytest.param('[[monitor]]\nname = "job"\npush = true\nlocations = ["eu-west"]\n', 'cfg.toml:4: monitor "job": locations does not apply to a push monitor (it is checked by the pings its job sends to /push/<token>, not probed); remove it', id="push_locations"),
]


@pytest.mark.parametrize(("text", "expected"), BROKEN)
def test_each_mistake_is_one_line_at_its_key(tmp_path: Path, text: str, expected: str) -> None:
    assert problems(tmp_path, text) == [expected]


def config_hash(text: str) -> str:
    return cluster_config_hash(parse_config(text.encode(), Path("/nowhere/cfg.toml")))


BASE = ('[defaults]\ninterval = "30s"\n\n' + M + THREE + 'confirm = 2\n'
        '\n[[monitor]]\nname = "db"\nurl = "tcp://db.internal:5432"\n')


def test_the_config_hash_is_the_monitors_not_the_file() -> None:
    digest = config_hash(BASE)
    assert len(digest) == 12 and int(digest, 16) >= 0
    same = [
        "# a comment\n" + BASE.replace("\n\n", "\n\n\n"),
        '[cluster]\nnode = "fra-2"\nlocation = "us-east"\nlease = "40s"\n' + BASE,
        '[defaults]\ninterval = "30s"\n\n[[monitor]]\nname = "db"\nurl = "tcp://db.internal:5432"\n\n' + M + THREE
        + "confirm = 2\n",  # the monitors in another order
        BASE.replace('interval = "30s"', "interval = 30"),  # the same value written another way
        '[display]\ntimezone = "UTC"\n[http]\nlisten = "127.0.0.1:0"\n' + BASE,  # not about the monitors
    ]
    for text in same:
        assert config_hash(text) == digest, text


@pytest.mark.parametrize("change", [
    ('interval = "30s"', 'interval = "31s"'),  # inherited by both monitors
    ("confirm = 2", "confirm = 3"),
    ('"ap-south"]', '"sa-east"]'),
    ('name = "db"', 'name = "postgres"'),
    ("https://example.com/health", "https://example.com/ready"),
    ('url = "tcp://db.internal:5432"\n', 'url = "tcp://db.internal:5432"\nfailure_threshold = 5\n'),
    ('url = "tcp://db.internal:5432"\n', 'url = "tcp://db.internal:5432"\ntags = ["prod"]\n'),
])
def test_any_change_to_a_monitor_changes_the_hash(change: tuple[str, str]) -> None:
    assert BASE.count(change[0]) == 1
    assert config_hash(BASE.replace(*change)) != config_hash(BASE)


def test_a_monitor_added_with_locations_reads_back_the_same(tmp_path: Path) -> None:
    config = load(tmp_path, "[defaults]\n" + THREE + "confirm = 2\n\n" + M + THREE)
    spec = config.monitors[0]
    fields = fields_from_spec(spec, config.defaults)
    assert "locations" not in fields and "confirm" not in fields  # inherited
    other = type(spec)(name="eu", url="https://example.com/eu", locations=("eu-west", "eu-central"), confirm=1)
    fields = fields_from_spec(other, config.defaults)
    assert (fields["locations"], fields["confirm"]) == (["eu-west", "eu-central"], 1)
    reread = add_monitor(tmp_path / "cfg.toml", fields).monitor("eu")
    assert reread is not None and (reread.locations, reread.confirm) == (("eu-west", "eu-central"), 1)
