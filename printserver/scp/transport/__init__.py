"""The Print SCP's DICOM Upper Layer: PS3.8 associations and PS3.7 DIMSE messages, acceptor side.

Why not pynetdicom's acceptor: it polls (its DUL and reactor threads wake every millisecond),
hands every PDU and message across three threads and rebuilds each response through its service
classes. A dcmprscu print of 16 images spent 150 ms in it against 42 ms in DCMTK's dcmprscp. Here
one thread per association reads PDUs with blocking ``recv_into``, assembles messages without
copies, calls the handler and writes the response itself; N-EVENT-REPORTs go out on that same
thread, so no request of the SCU can race them.

pynetdicom still does what happens once per association (decoding the A-ASSOCIATE-RQ, encoding
the A-ASSOCIATE-AC / -RJ and negotiating presentation contexts and roles,
:func:`pynetdicom.presentation.negotiate_as_acceptor`) and remains the SCU of ``printserver print``
and of the outputs.

* :mod:`.pdu` PDU framing (PS3.8 9.3);
* :mod:`.command` DIMSE command sets (PS3.7 E.1, Implicit VR Little Endian);
* :mod:`.message` fragments ↔ messages, data set coding (PS3.7 8.1, PS3.8 Annex E);
* :mod:`.fsm` the PS3.8 9.2 state machine as data: states, events, actions, Table 9-10;
* :mod:`.association` one association, acceptor side: the state machine's actions (negotiation,
  the message loop, release / abort, timers), events;
* :mod:`.listener` the TCP (TLS) listener and the association limit.
"""
