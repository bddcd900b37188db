"""The lease plan (core/cluster.py): who checks what, computed alike by every node (DESIGN §12)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from shiptrack_tui.core.cluster import (
    OWNER,
    LeaseKey,
    NodeView,
    assign,
    eligible,
    lease_changes,
    load,
    owned_by,
    score,
    skew,
    wanted_keys,
)

NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1, max_size=12)
LOCATIONS = ("eu-west", "us-east", "ap-south")


def node(name: str, location: str = "eu-west", monitors: frozenset[str] | set[str] = frozenset(),
         alive: bool = True, config_hash: str = "h1") -> NodeView:
    return NodeView(name, location, frozenset(monitors), alive, config_hash)


@st.composite
def views(draw: st.DrawFn, min_nodes: int = 0) -> tuple[dict[str, tuple[str, ...]], list[NodeView]]:
    """A config (monitor -> locations) and nodes, each with some of the monitors in its config."""
    masks = draw(st.lists(st.integers(0, 7), max_size=30))  # bit i: the monitor is checked from LOCATIONS[i]
    monitors = {f"m{i}": tuple(loc for bit, loc in enumerate(LOCATIONS) if mask >> bit & 1)
                for i, mask in enumerate(masks)}
    nodes = []
    for name, location, alive, dropped in draw(st.lists(
            st.tuples(NAMES, st.sampled_from(LOCATIONS), st.booleans(), st.integers(0, 40)),
            min_size=min_nodes, max_size=6, unique_by=lambda item: item[0])):
        # every node lacks one monitor or none: a config skewed by one monitor
        nodes.append(node(name, location, set(monitors) - {f"m{dropped}"}, alive))
    return monitors, nodes


def test_wanted_keys_are_an_owner_per_monitor_and_a_checker_per_location() -> None:
    keys = wanted_keys({"api": (), "shop": ("eu-west", "us-east"), "db": ("eu-west", "eu-west")})
    assert keys == [("api", OWNER), ("shop", OWNER), ("shop", "eu-west"), ("shop", "us-east"),
                    ("db", OWNER), ("db", "eu-west")]


def test_keys_go_only_to_live_nodes_whose_config_has_the_monitor_and_location_keys_stay_in_place() -> None:
    nodes = [node("fra-1", "eu-west", {"api", "shop"}), node("nyc-1", "us-east", {"api", "shop"}),
             node("old-1", "eu-west", {"api", "shop", "gone"}, alive=False),
             node("new-1", "ap-south", {"api"})]
    plan = assign(wanted_keys({"api": (), "shop": ("eu-west", "us-east", "ap-south"), "gone": ()}), nodes)
    assert plan[("shop", "eu-west")] == "fra-1"
    assert plan[("shop", "us-east")] == "nyc-1"
    assert ("shop", "ap-south") not in plan  # new-1 sits there, but its config lacks "shop"
    assert ("gone", OWNER) not in plan  # only a dead node has it
    assert plan[("shop", OWNER)] in {"fra-1", "nyc-1"}
    assert plan[("api", OWNER)] in {"fra-1", "nyc-1", "new-1"}
    assert "old-1" not in plan.values()
    assert assign(wanted_keys({"api": ()}), []) == {}


def test_scores_are_fixed_forever_so_nodes_of_any_process_and_version_agree() -> None:
    """Python's hash() is salted per process; these values come from blake2b and must never move
    (a change would make nodes of two versions disagree on every plan)."""
    assert score(("api", OWNER), "fra-1") == 3548638245275312856
    assert score(("api", "eu-west"), "fra-1") == 6394363317930674798
    assert score(("api", OWNER), "fra-2") == 16512405780720112984


@settings(max_examples=150, deadline=None)
@given(view=views(), seed=st.integers(0, 2**32))
def test_each_key_goes_to_the_eligible_node_scoring_highest_whatever_the_order(
        view: tuple[dict[str, tuple[str, ...]], list[NodeView]], seed: int) -> None:
    monitors, nodes = view
    keys = wanted_keys(monitors)
    plan = assign(keys, nodes)
    for key in keys:
        candidates = sorted(n.name for n in nodes if eligible(key, n))
        if candidates:
            assert plan[key] == max(candidates, key=lambda name: score(key, name))
        else:
            assert key not in plan
    shuffled_nodes, shuffled_keys = list(nodes), list(keys)
    random.Random(seed).shuffle(shuffled_nodes)
    random.Random(seed).shuffle(shuffled_keys)
    assert assign(shuffled_keys, shuffled_nodes) == plan


@settings(max_examples=25, deadline=None)
@given(names=st.lists(NAMES, unique=True, min_size=3, max_size=3), prefix=NAMES)
def test_three_nodes_share_three_thousand_monitors_within_15_percent(names: list[str], prefix: str) -> None:
    monitors = {f"{prefix}{i}": () for i in range(3000)}
    plan = assign(wanted_keys(monitors), [node(name, monitors=set(monitors)) for name in names])
    assert len(plan) == 3000
    for name in names:
        assert 850 <= load(plan).get(name, 0) <= 1150, load(plan)


@settings(max_examples=150, deadline=None)
@given(view=views(), joiner=NAMES, location=st.sampled_from(LOCATIONS))
def test_a_node_joining_takes_keys_from_others_and_moves_nothing_else(
        view: tuple[dict[str, tuple[str, ...]], list[NodeView]], joiner: str, location: str) -> None:
    monitors, nodes = view
    nodes = [n for n in nodes if n.name != joiner]
    keys = wanted_keys(monitors)
    before = assign(keys, nodes)
    after = assign(keys, [*nodes, node(joiner, location, set(monitors))])
    for key in keys:
        if before.get(key) != after.get(key):
            assert after[key] == joiner


@settings(max_examples=150, deadline=None)
@given(view=views(min_nodes=1), index=st.integers(0, 5), dies=st.booleans())
def test_a_node_leaving_moves_only_its_own_keys(
        view: tuple[dict[str, tuple[str, ...]], list[NodeView]], index: int, dies: bool) -> None:
    monitors, nodes = view
    leaver = nodes[index % len(nodes)]
    keys = wanted_keys(monitors)
    before = assign(keys, nodes)
    if dies:  # its heartbeat stopped: it is still listed, as not alive
        rest = [n if n is not leaver else node(n.name, n.location, n.monitors, alive=False) for n in nodes]
    else:  # it left the view altogether
        rest = [n for n in nodes if n is not leaver]
    after = assign(keys, rest)
    assert leaver.name not in after.values()
    for key in keys:
        if before.get(key) != after.get(key):
            assert before.get(key) == leaver.name


@settings(max_examples=150, deadline=None)
@given(view=views(min_nodes=1), held=st.sets(st.tuples(st.sampled_from(["m0", "m1", "m2", "x"]),
                                                       st.sampled_from(["", *LOCATIONS]))))
def test_following_the_changes_leaves_a_node_holding_exactly_its_share(
        view: tuple[dict[str, tuple[str, ...]], list[NodeView]], held: set[LeaseKey]) -> None:
    monitors, nodes = view
    plan = assign(wanted_keys(monitors), nodes)
    me = nodes[0].name
    acquire, release = lease_changes(plan, me, held)
    assert not set(acquire) & held
    assert set(release) <= held
    assert (held - set(release)) | set(acquire) == set(owned_by(plan, me))
    assert acquire == sorted(acquire) and release == sorted(release)


def test_lease_changes_example() -> None:
    plan = {("api", ""): "fra-1", ("shop", ""): "nyc-1", ("shop", "eu-west"): "fra-1"}
    acquire, release = lease_changes(plan, "fra-1", [("shop", ""), ("api", ""), ("gone", "")])
    assert acquire == [("shop", "eu-west")]
    assert release == [("gone", ""), ("shop", "")]
    assert load(plan) == {"fra-1": 2, "nyc-1": 1}


def test_skew_names_the_nodes_off_the_majority_and_ignores_dead_ones() -> None:
    agree = skew([node("fra-1"), node("fra-2"), node("old", config_hash="h0", alive=False)])
    assert not agree and agree.text() == "" and agree.majority == "h1"
    odd = skew([node("fra-1"), node("fra-2", config_hash="h2"), node("fra-3")])
    assert odd and odd.majority == "h1" and odd.differs("fra-2") and not odd.differs("fra-1")
    assert odd.text() == "config differs on fra-2 (h2); the others run h1"
    tie = skew([node("fra-1"), node("fra-2", config_hash="h2")])
    assert tie.majority is None and tie.differs("fra-1") and tie.differs("fra-2")
    assert tie.text() == "configs differ: fra-1 runs h1, fra-2 runs h2"
    assert skew([]).majority is None and not skew([])
