"""Probes leave from the configured local address (`[cluster] source_address`): HTTP and TCP."""

from __future__ import annotations

import asyncio

from address_target import AddressTarget

from shiptrack_tui.core.evaluation import evaluate
from shiptrack_tui.core.model import MonitorSpec, Outcome
from shiptrack_tui.probes import ClientPool, probe


def _spec(url: str, name: str = "web") -> MonitorSpec:
    return MonitorSpec(name=name, url=url, timeout=2.0)


async def test_http_checks_leave_from_the_pool_address_and_the_target_answers_by_it() -> None:
    with AddressTarget() as target:
        target.set_refused("127.0.0.3")
        spec = _spec(target.url)
        async with ClientPool(clients=2, local_address="127.0.0.2") as from_2, \
                ClientPool(clients=2, local_address="127.0.0.3") as from_3:
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
        async with ClientPool(clients=1) as pool:
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
    async with server, ClientPool(clients=1, local_address="127.0.0.4") as pool:
        observation = await probe(_spec(f"tcp://127.0.0.1:{port}", name="db"), pool)
        await asyncio.wait_for(accepted.wait(), 5.0)
    assert observation.error is None
    assert peers == ["127.0.0.4"]


async def test_an_address_this_machine_does_not_have_is_a_failed_check_not_a_crash() -> None:
    with AddressTarget() as target:
        async with ClientPool(clients=1, local_address="192.0.2.77") as pool:  # TEST-NET-1: not ours
            observation = await probe(_spec(target.url), pool)
        assert target.seen == []
    assert observation.status_code is None and "address not available" in (observation.error or "")
