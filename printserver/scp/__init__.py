"""The Print SCP: Basic Grayscale Print Management (PS3.4 Annex H).

* :mod:`.model` plain domain objects (film session, film box, image box, annotation box,
  presentation LUT) that know nothing about sockets;
* :mod:`.attributes` the table-driven attribute validation shared by every SOP class (PS3.4 H.2.4);
* :mod:`.film_session`, :mod:`.film_box`, :mod:`.image_box`, :mod:`.annotation_box`,
  :mod:`.presentation_lut`, :mod:`.printer`, :mod:`.print_job` the behaviour of each SOP class;
* :mod:`.association` the per-association state;
* :mod:`.transport` the DICOM Upper Layer (PS3.8 associations and PDUs, PS3.7 DIMSE messages);
* :mod:`.handlers` the thin service user between DIMSE requests and the SOP class modules;
  :mod:`.notifier` the Print Job and Printer N-EVENT-REPORTs; :mod:`.server` the listener
  (contexts, AE titles, TLS, limits).

``printserver serve`` puts the SCP together with the render workers in :mod:`printserver.serve`.
"""
