"""A third-party mail sender, loaded through ``plugins.extra`` (tests/test_announcements.py): it keeps each message
in memory, and bounces the addresses at ``bounce.example`` as a provider that refuses them would."""

from __future__ import annotations

from federation import Delivery, MailMessage, MailSender, hookimpl

#: Every message the sender accepted, in order (the test reads them).
OUTBOX: list[MailMessage] = []


class Outbox(MailSender):
    name = "outbox"

    def send(self, message: MailMessage) -> Delivery:
        if message.to.endswith("@bounce.example"):
            raise ConnectionError(f"550 mailbox {message.to} unavailable")
        OUTBOX.append(message)
        return Delivery("sent", f"kept as message {len(OUTBOX)}")


@hookimpl
def medmci_mail_senders(settings):
    return [Outbox()]
