"""Probes leave from the configured local address (`[cluster] source_address`): HTTP and TCP."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from address_target import AddressTarget

from shiptrack_tui.config import Config, ConfigError, load_config
from shiptrack_tui.core.evaluation import evaluate
from shiptrack_tui.core.model import MonitorSpec, Outcome
from shiptrack_tui.engine import Engine
from shiptrack_tui.probes import ClientPool, probe
from shiptrack_tui.storage import Store


def _spec(url: str, name: str = "web") -> MonitorSpec:
    return MonitorSpec(name=name, url=url, timeout=2.0)


async def test_http_checks_leave_from_the_pool_address_and_the_target_answers_by_it() -> None:
    with AddressTarget() as target:
        target.set_refused("127.0.0.3")
        spec = _spec(target.url)
        async with ClientPool(local_address="127.0.0.2") as from_2, \
                ClientPool(local_address="127.0.0.3") as from_3:
            ok = await probe(spec, from_2)
            refused = await probe(spec, from_3)
        assert target.seen == ["127.0.0.2", "127.0.0.3"]
    assert (ok.status_code, ok.body) == (200, None)
    assert refused.status_code == 503
    assert evaluate(spec, ok).outcome is Outcome.UP
    down = evaluate(spec, refused)
    assert down.outcome is Outcome.DOWN and "503" in (down.reason or "")


async def test_without_an_address_the_os_picks_the_loopback_one() -> None:
    with AddressTarget() as target:
        async with ClientPool() as pool:
            assert (await probe(_spec(target.url), pool)).status_code == 200
        assert target.seen == ["127.0.0.1"]


async def test_tcp_checks_leave_from_the_pool_address() -> None:
    peers: list[str] = []
    accepted = asyncio.Event()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.append(writer.get_extra_info("peername")[0])
        accepted.set()
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, ClientPool(local_address="127.0.0.4") as pool:
        observation = await probe(_spec(f"tcp://127.0.0.1:{port}", name="db"), pool)
        await asyncio.wait_for(accepted.wait(), 5.0)
    assert observation.error is None
    assert peers == ["127.0.0.4"]


async def test_an_address_this_machine_does_not_have_is_a_failed_check_not_a_crash() -> None:
    with AddressTarget() as target:
        async with ClientPool(local_address="192.0.2.77") as pool:  # TEST-NET-1: not ours
            observation = await probe(_spec(target.url), pool)
        assert target.seen == []
    assert observation.status_code is None and "address not available" in (observation.error or "")


def _config(tmp_path: Path, cluster: str, url: str = "http://127.0.0.1:9/") -> Config:
    path = tmp_path / "shiptrack.toml"
    monitor = f'[[monitor]]\nname = "web"\nurl = "{url}"\ninterval = "1s"\ntimeout = "0.5s"\n'
    path.write_text(f"{cluster}\n{monitor}")
    return load_config(path)


def test_the_cluster_table_takes_a_source_address(tmp_path: Path) -> None:
    config = _config(tmp_path, '[cluster]\nnode = "a"\nlocation = "eu-west"\nsource_address = "127.0.0.2"')
    assert config.cluster is not None and config.cluster.source_address == "127.0.0.2"
    v6 = _config(tmp_path, '[cluster]\nnode = "a"\nlocation = "x"\nsource_address = "2001:DB8::0:10"')
    assert v6.cluster is not None and v6.cluster.source_address == "2001:db8::10"
    plain = _config(tmp_path, '[cluster]\nnode = "a"\nlocation = "x"')
    assert plain.cluster is not None and plain.cluster.source_address is None


@pytest.mark.parametrize("value", ['"db.internal"', '"127.0.0.2:80"', "2"])
def test_a_source_address_that_is_not_an_ip_is_refused_with_its_line(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _config(tmp_path, f'[cluster]\nnode = "a"\nlocation = "x"\nsource_address = {value}')
    [problem] = caught.value.problems
    assert problem.startswith(f"{tmp_path / 'shiptrack.toml'}:4: ") and "source_address" in problem
    assert "IP address" in problem or "string" in problem


async def test_the_engine_checks_from_the_configured_source_address(tmp_path: Path) -> None:
    with AddressTarget() as target:
        config = _config(tmp_path, '[cluster]\nnode = "a"\nlocation = "x"\nsource_address = "127.0.0.3"',
                         url=target.url)
        store = Store.open(tmp_path / "db.sqlite")
        engine = Engine(config, store, send_notifications=False)
        task = asyncio.create_task(engine.run())
        try:
            deadline = time.monotonic() + 10
            while not target.seen and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        finally:
            engine.request_stop()
            await asyncio.wait_for(task, 15)
            store.close()
        assert target.seen and set(target.seen) == {"127.0.0.3"}
