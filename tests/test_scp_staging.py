"""Image staging per association: one association's images never queue in front of another's
print (N-ACTION answers Success only once every image of its job is fsync'd, the manifest and
the job row committed).

A hook holds the staging fsyncs of one association (by its staging thread's name); the other
association prints meanwhile. Nothing here depends on timing: the held association is released
only after the other one's print has been answered, and then prints too.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from printserver.jobs import spool as spool_module
from scp_fixtures import FILM_BOX, IMAGE_BOX, InProcessServer, PrintSCU, image_box_ds


@pytest.fixture
def srv(tmp_path):
    server = InProcessServer(tmp_path / "scp")
    yield server
    server.stop()


class HeldFsync:
    """Wraps the spool's fsync: the staging threads of ``calling_ae`` wait until released."""

    def __init__(self, calling_ae: str) -> None:
        self.prefix = f"spool-stage-{calling_ae}"
        self.entered = threading.Event()
        self.released = threading.Event()
        self._fsync = spool_module.fsync_path

    def __call__(self, path) -> None:
        if threading.current_thread().name.startswith(self.prefix):
            self.entered.set()
            assert self.released.wait(60), "never released"
        self._fsync(path)


def film_with_images(scu: PrintSCU, count: int, seed: int) -> tuple[str, list[np.ndarray]]:
    """A film box of ``count`` images, each set; returns its UID and the pixels sent."""
    session = scu.film_session(FilmSessionLabel=scu.ae.ae_title)
    fb = scu.film_box(session, f"STANDARD\\{count},1", FilmSizeID="8INX10IN")
    assert fb.status == 0, hex(fb.status)
    boxes = [i.ReferencedSOPInstanceUID for i in fb.dataset.ReferencedImageBoxSequence]
    rng = np.random.default_rng(seed)
    images = []
    for position, box in enumerate(boxes, start=1):
        pixels = rng.integers(0, 4096, (64, 64), dtype=np.uint16)
        assert scu.set(IMAGE_BOX, box, image_box_ds(position, pixels)).status == 0
        images.append(pixels)
    return fb.affected_uid, images


def assert_durable_job(srv: InProcessServer, calling_ae: str, images: list[np.ndarray]) -> None:
    (job,) = [j for j in srv.store.list() if j.calling_ae == calling_ae]
    assert job.state.value == "QUEUED"
    for position, pixels in enumerate(images, start=1):
        assert np.array_equal(srv.spool.load_pixels(job, 1, position), pixels)


def test_a_held_association_staging_does_not_hold_another_associations_print(srv,
                                                                             monkeypatch):
    hold = HeldFsync("SLOWSCU")
    monkeypatch.setattr(spool_module, "fsync_path", hold)
    slow, fast = PrintSCU(srv.port, calling="SLOWSCU"), PrintSCU(srv.port, calling="FASTSCU")
    try:
        # more images than the two staging threads the spool once shared
        slow_film, slow_images = film_with_images(slow, 4, seed=1)
        assert hold.entered.wait(30), "the slow association's staging never started"
        fast_film, fast_images = film_with_images(fast, 2, seed=2)
        assert fast.action(FILM_BOX, fast_film).status == 0  # while SLOWSCU's fsyncs are held
        assert not hold.released.is_set()
        assert_durable_job(srv, "FASTSCU", fast_images)
        assert [j.calling_ae for j in srv.store.list()] == ["FASTSCU"]

        answer: list[int] = []
        printing = threading.Thread(
            target=lambda: answer.append(slow.action(FILM_BOX, slow_film).status))
        printing.start()
        hold.released.set()
        printing.join(60)
        assert answer == [0]
        assert_durable_job(srv, "SLOWSCU", slow_images)
    finally:
        hold.released.set()
        slow.release()
        fast.release()
