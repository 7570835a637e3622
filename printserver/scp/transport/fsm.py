"""The DICOM Upper Layer state machine (PS3.8 9.2) as data: states, events, actions, the table.

PS3.8 Tables 9-1 to 9-5 name the states (:class:`State`), Table 9-10 the events
(:class:`Event`), Tables 9-6 to 9-9 the actions and the state each leads to (:data:`ACTIONS`),
and Table 9-10 which action an event calls for in each state (:data:`TRANSITIONS`). The table
is complete: every (state, event) pair has an entry, ``None`` where the standard's cell is blank
(the event cannot occur in that state: a local primitive the service user does not issue there,
or a transport event without a transport connection).

Nothing here does I/O. :mod:`.association` binds each action to a method of the acceptor and
dispatches every event through :func:`transition`; the state machine is written once, here.
The standard's machine serves both roles; an acceptor never issues an A-ASSOCIATE or A-RELEASE
request (Evt1, Evt11), so the requestor's states (Sta4, Sta5, Sta7, Sta9, Sta11) and the
release collision states (Sta10, Sta12) are never entered, and the actions only they lead to
(AE-1 to AE-4, AR-1, AR-3, AR-6, AR-8 to AR-10) never run.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class State(enum.StrEnum):
    """The states of PS3.8 Tables 9-1 to 9-5."""

    STA1 = "Sta1"
    STA2 = "Sta2"
    STA3 = "Sta3"
    STA4 = "Sta4"
    STA5 = "Sta5"
    STA6 = "Sta6"
    STA7 = "Sta7"
    STA8 = "Sta8"
    STA9 = "Sta9"
    STA10 = "Sta10"
    STA11 = "Sta11"
    STA12 = "Sta12"
    STA13 = "Sta13"

    @property
    def description(self) -> str:
        return STATE_DESCRIPTIONS[self]


STATE_DESCRIPTIONS: dict[State, str] = {
    State.STA1: "Idle",
    State.STA2: "Transport connection open (awaiting A-ASSOCIATE-RQ PDU)",
    State.STA3: "Awaiting local A-ASSOCIATE response primitive (from local user)",
    State.STA4: "Awaiting transport connection opening to complete (from local transport service)",
    State.STA5: "Awaiting A-ASSOCIATE-AC or A-ASSOCIATE-RJ PDU",
    State.STA6: "Association established and ready for data transfer",
    State.STA7: "Awaiting A-RELEASE-RP PDU",
    State.STA8: "Awaiting local A-RELEASE response primitive (from local user)",
    State.STA9: "Release collision requestor side; awaiting A-RELEASE response (from local user)",
    State.STA10: "Release collision acceptor side; awaiting A-RELEASE-RP PDU",
    State.STA11: "Release collision requestor side; awaiting A-RELEASE-RP PDU",
    State.STA12: "Release collision acceptor side; awaiting A-RELEASE response primitive "
                 "(from local user)",
    State.STA13: "Awaiting transport connection close indication (association no longer exists)",
}


class Event(enum.StrEnum):
    """The events of PS3.8 Table 9-10."""

    EVT1 = "Evt1"
    EVT2 = "Evt2"
    EVT3 = "Evt3"
    EVT4 = "Evt4"
    EVT5 = "Evt5"
    EVT6 = "Evt6"
    EVT7 = "Evt7"
    EVT8 = "Evt8"
    EVT9 = "Evt9"
    EVT10 = "Evt10"
    EVT11 = "Evt11"
    EVT12 = "Evt12"
    EVT13 = "Evt13"
    EVT14 = "Evt14"
    EVT15 = "Evt15"
    EVT16 = "Evt16"
    EVT17 = "Evt17"
    EVT18 = "Evt18"
    EVT19 = "Evt19"

    @property
    def description(self) -> str:
        return EVENT_DESCRIPTIONS[self]


EVENT_DESCRIPTIONS: dict[Event, str] = {
    Event.EVT1: "A-ASSOCIATE request (local user)",
    Event.EVT2: "Transport connect confirmation (local transport service)",
    Event.EVT3: "A-ASSOCIATE-AC PDU (received on transport connection)",
    Event.EVT4: "A-ASSOCIATE-RJ PDU (received on transport connection)",
    Event.EVT5: "Transport connection indication (local transport service)",
    Event.EVT6: "A-ASSOCIATE-RQ PDU (received on transport connection)",
    Event.EVT7: "A-ASSOCIATE response primitive (accept)",
    Event.EVT8: "A-ASSOCIATE response primitive (reject)",
    Event.EVT9: "P-DATA request primitive",
    Event.EVT10: "P-DATA-TF PDU",
    Event.EVT11: "A-RELEASE request primitive",
    Event.EVT12: "A-RELEASE-RQ PDU (received on open transport connection)",
    Event.EVT13: "A-RELEASE-RP PDU (received on transport connection)",
    Event.EVT14: "A-RELEASE response primitive",
    Event.EVT15: "A-ABORT request primitive",
    Event.EVT16: "A-ABORT PDU (received on open transport connection)",
    Event.EVT17: "Transport connection closed indication (local transport service)",
    Event.EVT18: "ARTIM timer expired (association reject/release timer)",
    Event.EVT19: "Unrecognized or invalid PDU received",
}


@dataclass(frozen=True)
class Action:
    """One action of PS3.8 Tables 9-6 to 9-9.

    Attributes
    ----------
    name : str
        "AE-1" ... "AA-8".
    description : str
    next_states : tuple of State
        The state the action leads to; AE-6 has two (accepted by the provider: Sta3, else
        Sta13), and so has AR-8 (requestor: Sta9, acceptor: Sta10).
    """

    name: str
    description: str
    next_states: tuple[State, ...]


def _action(name: str, description: str, *next_states: State) -> Action:
    return Action(name, description, next_states)


_S = State
#: PS3.8 Tables 9-6 (AE), 9-7 (DT), 9-8 (AR) and 9-9 (AA)
ACTIONS: dict[str, Action] = {a.name: a for a in (
    _action("AE-1", "Issue TRANSPORT CONNECT request primitive to local transport service",
            _S.STA4),
    _action("AE-2", "Send A-ASSOCIATE-RQ PDU", _S.STA5),
    _action("AE-3", "Issue A-ASSOCIATE confirmation (accept) primitive", _S.STA6),
    _action("AE-4", "Issue A-ASSOCIATE confirmation (reject) primitive and close transport "
                    "connection", _S.STA1),
    _action("AE-5", "Issue transport connection response primitive; start ARTIM timer", _S.STA2),
    _action("AE-6", "Stop ARTIM timer and if A-ASSOCIATE-RQ acceptable by service-provider: "
                    "issue A-ASSOCIATE indication primitive (Sta3); otherwise issue "
                    "A-ASSOCIATE-RJ PDU and start ARTIM timer (Sta13)", _S.STA3, _S.STA13),
    _action("AE-7", "Send A-ASSOCIATE-AC PDU", _S.STA6),
    _action("AE-8", "Send A-ASSOCIATE-RJ PDU and start ARTIM timer", _S.STA13),
    _action("DT-1", "Send P-DATA-TF PDU", _S.STA6),
    _action("DT-2", "Send P-DATA indication primitive", _S.STA6),
    _action("AR-1", "Send A-RELEASE-RQ PDU", _S.STA7),
    _action("AR-2", "Issue A-RELEASE indication primitive", _S.STA8),
    _action("AR-3", "Issue A-RELEASE confirmation primitive and close transport connection",
            _S.STA1),
    _action("AR-4", "Issue A-RELEASE-RP PDU and start ARTIM timer", _S.STA13),
    _action("AR-5", "Stop ARTIM timer", _S.STA1),
    _action("AR-6", "Issue P-DATA indication", _S.STA7),
    _action("AR-7", "Issue P-DATA-TF PDU", _S.STA8),
    _action("AR-8", "Issue A-RELEASE indication (release collision): association-requestor "
                    "Sta9, acceptor Sta10", _S.STA9, _S.STA10),
    _action("AR-9", "Send A-RELEASE-RP PDU", _S.STA11),
    _action("AR-10", "Issue A-RELEASE confirmation primitive", _S.STA12),
    _action("AA-1", "Send A-ABORT PDU (service-user source) and start (or restart) ARTIM timer",
            _S.STA13),
    _action("AA-2", "Stop ARTIM timer if running; close transport connection", _S.STA1),
    _action("AA-3", "Issue A-ABORT (service-user initiated) or A-P-ABORT (service-provider "
                    "initiated) indication and close transport connection", _S.STA1),
    _action("AA-4", "Issue A-P-ABORT indication primitive", _S.STA1),
    _action("AA-5", "Stop ARTIM timer", _S.STA1),
    _action("AA-6", "Ignore PDU", _S.STA13),
    _action("AA-7", "Send A-ABORT PDU", _S.STA13),
    _action("AA-8", "Send A-ABORT PDU (service-provider source), issue an A-P-ABORT indication "
                    "and start ARTIM timer", _S.STA13),
)}

# the action names, short, to write the table below; a blank cell is __
AE1, AE2, AE3, AE4, AE5, AE6, AE7, AE8 = (f"AE-{n}" for n in range(1, 9))
DT1, DT2 = "DT-1", "DT-2"
AR1, AR2, AR3, AR4, AR5, AR6, AR7, AR8, AR9, AR10 = (f"AR-{n}" for n in range(1, 11))
AA1, AA2, AA3, AA4, AA5, AA6, AA7, AA8 = (f"AA-{n}" for n in range(1, 9))
__ = None
#: PS3.8 Table 9-10, one row per event, one cell per state
_ROWS: dict[Event, tuple[str | None, ...]] = {
    #             Sta1 Sta2 Sta3 Sta4 Sta5 Sta6 Sta7 Sta8 Sta9 Sta10 Sta11 Sta12 Sta13
    Event.EVT1:   (AE1, __,  __,  __,  __,  __,  __,  __,  __,  __,   __,   __,   __),
    Event.EVT2:   (__,  __,  __,  AE2, __,  __,  __,  __,  __,  __,   __,   __,   __),
    Event.EVT3:   (__,  AA1, AA8, __,  AE3, AA8, AA8, AA8, AA8, AA8,  AA8,  AA8,  AA6),
    Event.EVT4:   (__,  AA1, AA8, __,  AE4, AA8, AA8, AA8, AA8, AA8,  AA8,  AA8,  AA6),
    Event.EVT5:   (AE5, __,  __,  __,  __,  __,  __,  __,  __,  __,   __,   __,   __),
    Event.EVT6:   (__,  AE6, AA8, __,  AA8, AA8, AA8, AA8, AA8, AA8,  AA8,  AA8,  AA7),
    Event.EVT7:   (__,  __,  AE7, __,  __,  __,  __,  __,  __,  __,   __,   __,   __),
    Event.EVT8:   (__,  __,  AE8, __,  __,  __,  __,  __,  __,  __,   __,   __,   __),
    Event.EVT9:   (__,  __,  __,  __,  __,  DT1, __,  AR7, __,  __,   __,   __,   __),
    Event.EVT10:  (__,  AA1, AA8, __,  AA8, DT2, AR6, AA8, AA8, AA8,  AA8,  AA8,  AA6),
    Event.EVT11:  (__,  __,  __,  __,  __,  AR1, __,  __,  __,  __,   __,   __,   __),
    Event.EVT12:  (__,  AA1, AA8, __,  AA8, AR2, AR8, AA8, AA8, AA8,  AA8,  AA8,  AA6),
    Event.EVT13:  (__,  AA1, AA8, __,  AA8, AA8, AR3, AA8, AA8, AR10, AR3,  AA8,  AA6),
    Event.EVT14:  (__,  __,  __,  __,  __,  __,  __,  AR4, AR9, __,   __,   AR4,  __),
    Event.EVT15:  (__,  __,  AA1, AA2, AA1, AA1, AA1, AA1, AA1, AA1,  AA1,  AA1,  __),
    Event.EVT16:  (__,  AA2, AA3, __,  AA3, AA3, AA3, AA3, AA3, AA3,  AA3,  AA3,  AA2),
    Event.EVT17:  (__,  AA5, AA4, AA4, AA4, AA4, AA4, AA4, AA4, AA4,  AA4,  AA4,  AR5),
    Event.EVT18:  (__,  AA2, __,  __,  __,  __,  __,  __,  __,  __,   __,   __,   AA2),
    Event.EVT19:  (__,  AA1, AA8, __,  AA8, AA8, AA8, AA8, AA8, AA8,  AA8,  AA8,  AA7),
}
del __

#: PS3.8 Table 9-10: (state, event) → action name, ``None`` for a blank cell; every pair present
TRANSITIONS: dict[tuple[State, Event], str | None] = {
    (state, event): row[i] for event, row in _ROWS.items() for i, state in enumerate(State)}


def next_state(action: Action, acceptor: bool = True) -> tuple[State, ...]:
    """The states ``action`` may lead to on one side of the association: AR-8's release
    collision state is the requestor's or the acceptor's; AE-6 keeps its two outcomes."""
    if action.name == "AR-8":
        return (action.next_states[1 if acceptor else 0],)
    return action.next_states


def transition(state: State, event: Event) -> Action | None:
    """The action Table 9-10 calls for when ``event`` happens in ``state`` (None: blank)."""
    name = TRANSITIONS[state, event]
    return None if name is None else ACTIONS[name]


__all__ = ["ACTIONS", "Action", "Event", "State", "TRANSITIONS", "next_state", "transition"]
