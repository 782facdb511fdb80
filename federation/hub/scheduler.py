"""The embedded scheduler of `medmci hub serve`: harvest the due nodes every interval, or sooner when a push
arrives. Pushes that arrive together wake it once, so they cause one harvest."""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger(__name__)


class HarvestScheduler:
    def __init__(self, harvester, interval_s: float, settle_s: float = 0.5):
        self.harvester = harvester
        self.interval_s = float(interval_s)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="harvest-scheduler", daemon=True)
        self.runs = 0
        #: After a push, wait until pushes stop coming for this long (5 s at most): a burst is one harvest.
        self.settle_s = settle_s

    def start(self) -> HarvestScheduler:
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            woken = self._wake.wait(self.interval_s)
            self._wake.clear()
            deadline = time.monotonic() + 5
            while woken and not self._stop.is_set() and time.monotonic() < deadline:
                woken = self._wake.wait(self.settle_s)
                self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.harvester.harvest(due_only=True)
                self.runs += 1
            except Exception:  # the scheduler outlives one bad pass; the run is recorded
                log.exception("scheduled harvest failed")
