"""The Print SCP's Upper Layer state machine against PS3.8 9.2, cell by cell.

The tables below are transcribed from the standard for this test, independently of
:mod:`printserver.scp.transport.fsm`: Table 9-10 as printed (one row per event, one column per
state, "-" for a blank cell) and the next state of each action (Tables 9-6 to 9-9). The test
walks every (state, event) pair: the implementation's table names the same action, and the
acceptor's dispatch table binds it to that action's method and next state. What the actions do
on the wire is tested over sockets in ``test_scp_transport.py``.
"""

from __future__ import annotations

import pytest

from printserver.scp.transport import association as acceptor
from printserver.scp.transport.fsm import (ACTIONS, TRANSITIONS, Event, State, next_state,
                                           transition)

#: PS3.8 Table 9-10, DICOM Upper Layer Protocol State Transition Table
TABLE_9_10 = """
       Sta1 Sta2 Sta3 Sta4 Sta5 Sta6 Sta7 Sta8 Sta9 Sta10 Sta11 Sta12 Sta13
Evt1   AE-1 -    -    -    -    -    -    -    -    -     -     -     -
Evt2   -    -    -    AE-2 -    -    -    -    -    -     -     -     -
Evt3   -    AA-1 AA-8 -    AE-3 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-6
Evt4   -    AA-1 AA-8 -    AE-4 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-6
Evt5   AE-5 -    -    -    -    -    -    -    -    -     -     -     -
Evt6   -    AE-6 AA-8 -    AA-8 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-7
Evt7   -    -    AE-7 -    -    -    -    -    -    -     -     -     -
Evt8   -    -    AE-8 -    -    -    -    -    -    -     -     -     -
Evt9   -    -    -    -    -    DT-1 -    AR-7 -    -     -     -     -
Evt10  -    AA-1 AA-8 -    AA-8 DT-2 AR-6 AA-8 AA-8 AA-8  AA-8  AA-8  AA-6
Evt11  -    -    -    -    -    AR-1 -    -    -    -     -     -     -
Evt12  -    AA-1 AA-8 -    AA-8 AR-2 AR-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-6
Evt13  -    AA-1 AA-8 -    AA-8 AA-8 AR-3 AA-8 AA-8 AR-10 AR-3  AA-8  AA-6
Evt14  -    -    -    -    -    -    -    AR-4 AR-9 -     -     AR-4  -
Evt15  -    -    AA-1 AA-2 AA-1 AA-1 AA-1 AA-1 AA-1 AA-1  AA-1  AA-1  -
Evt16  -    AA-2 AA-3 -    AA-3 AA-3 AA-3 AA-3 AA-3 AA-3  AA-3  AA-3  AA-2
Evt17  -    AA-5 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4  AA-4  AA-4  AR-5
Evt18  -    AA-2 -    -    -    -    -    -    -    -     -     -     AA-2
Evt19  -    AA-1 AA-8 -    AA-8 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-7
"""

#: "Next state is ..." of PS3.8 Tables 9-6 to 9-9, as the acceptor takes them: AE-6 goes to
#: Sta3 or Sta13 (the provider accepts or rejects the request), AR-8 to Sta10 (not requestor)
NEXT_STATE = {
    "AE-1": {"Sta4"}, "AE-2": {"Sta5"}, "AE-3": {"Sta6"}, "AE-4": {"Sta1"}, "AE-5": {"Sta2"},
    "AE-6": {"Sta3", "Sta13"}, "AE-7": {"Sta6"}, "AE-8": {"Sta13"},
    "DT-1": {"Sta6"}, "DT-2": {"Sta6"},
    "AR-1": {"Sta7"}, "AR-2": {"Sta8"}, "AR-3": {"Sta1"}, "AR-4": {"Sta13"}, "AR-5": {"Sta1"},
    "AR-6": {"Sta7"}, "AR-7": {"Sta8"}, "AR-8": {"Sta10"}, "AR-9": {"Sta11"},
    "AR-10": {"Sta12"},
    "AA-1": {"Sta13"}, "AA-2": {"Sta1"}, "AA-3": {"Sta1"}, "AA-4": {"Sta1"}, "AA-5": {"Sta1"},
    "AA-6": {"Sta13"}, "AA-7": {"Sta13"}, "AA-8": {"Sta13"},
}

#: actions this acceptor never takes: the requestor's (it never issues A-ASSOCIATE) and those of
#: a release it requested (it never issues A-RELEASE)
NOT_TAKEN = {"AE-1", "AE-2", "AE-3", "AE-4", "AR-1", "AR-3", "AR-6", "AR-8", "AR-9", "AR-10"}
#: events the acceptor never generates: local requests of a requestor, its transport connecting
NEVER_GENERATED = {"Evt1", "Evt2", "Evt11"}


def _cells() -> dict[tuple[str, str], str | None]:
    header, *rows = [line.split() for line in TABLE_9_10.strip().splitlines()]
    cells = {}
    for event, *actions in rows:
        assert len(actions) == len(header) == 13, event
        for state, action in zip(header, actions):
            cells[state, event] = None if action == "-" else action
    return cells


CELLS = _cells()


def test_the_tables_cover_every_state_event_pair():
    assert len(CELLS) == 13 * 19
    assert set(TRANSITIONS) == {(State(s), Event(e)) for s, e in CELLS}
    assert set(ACTIONS) == set(NEXT_STATE)
    assert set(acceptor.DISPATCH) == set(TRANSITIONS)


@pytest.mark.parametrize(("state", "event"), sorted(CELLS, key=lambda c: (
    int(c[0][3:]), int(c[1][3:]))), ids="{0[0]}-{0[1]}".format)
def test_every_cell_names_the_standards_action_and_next_state(state, event):
    expected = CELLS[state, event]
    assert TRANSITIONS[State(state), Event(event)] == expected
    action = transition(State(state), Event(event))
    method, bound_next = acceptor.DISPATCH[State(state), Event(event)]
    if expected is None:
        assert action is None
        assert method is acceptor.Association._undefined and bound_next is None
        return
    assert action is not None and action.name == expected
    assert {str(s) for s in next_state(action, acceptor=True)} == NEXT_STATE[expected]
    assert method is acceptor.ACTION_METHODS[expected]
    if len(NEXT_STATE[expected]) == 1:
        assert {str(bound_next)} == NEXT_STATE[expected]
    else:  # AE-6: the method returns the state it chose
        assert bound_next is None


def test_actions_the_acceptor_never_takes_are_bound_to_a_refusal():
    for name, method in acceptor.ACTION_METHODS.items():
        assert (method is acceptor.Association._not_taken) == (name in NOT_TAKEN), name


def test_the_acceptor_only_reaches_states_where_it_takes_every_action():
    """From Sta1, following the table on every event the acceptor can generate, it reaches
    Sta1, 2, 3, 6, 8 and 13 only, and in those states no transition leads to an action it
    never takes."""
    reached, todo = {"Sta1"}, ["Sta1"]
    while todo:
        state = todo.pop()
        for (s, event), action in CELLS.items():
            if s != state or action is None or event in NEVER_GENERATED:
                continue
            assert action not in NOT_TAKEN, (state, event, action)
            for nxt in NEXT_STATE[action]:
                if nxt not in reached:
                    reached.add(nxt)
                    todo.append(nxt)
    assert reached == {"Sta1", "Sta2", "Sta3", "Sta6", "Sta8", "Sta13"}


def test_a_blank_cell_or_a_requestors_action_is_refused_loudly():
    assoc = object.__new__(acceptor.Association)
    assoc.ul_state = State.STA6
    with pytest.raises(acceptor.UndefinedTransition, match="blank"):
        acceptor.Association._undefined(assoc, Event.EVT5, None)
    with pytest.raises(acceptor.UndefinedTransition, match="requestor"):
        acceptor.Association._not_taken(assoc, Event.EVT11, None)
