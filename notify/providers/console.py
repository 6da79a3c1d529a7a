"""The embedded default's provider: writes each message to the log instead of sending it."""
from __future__ import annotations

import logging
import sys
import threading

from esupervision.models.notices.phones import mask
from esupervision.notify.providers import Outgoing

log = logging.getLogger("esupervision.notices")


class ConsoleProvider:
    name = "console"
    channels = frozenset({"sms", "voice"})

    def __init__(self, keep: int = 1000) -> None:
        self.keep = keep
        self.sent: list[Outgoing] = []
        self._lock = threading.Lock()

    def send(self, message: Outgoing) -> str:
        log.info("%s → %s: %s", "短信" if message.channel == "sms" else "语音", mask(message.to), message.text)
        # The embedded default has no phone: the message is read off the server console (the
        # demo's applicant login code is), whatever the logging setup.
        print(f"[{'SMS' if message.channel == 'sms' else 'voice'} console] to {message.to}: {message.text}",
              file=sys.stderr, flush=True)
        with self._lock:
            self.sent.append(message)
            del self.sent[:-self.keep]
        return f"console-{message.notice_id}"

    def find(self, message: Outgoing) -> str | None:
        with self._lock:
            return next((f"console-{m.notice_id}" for m in self.sent if m.notice_id == message.notice_id), None)
