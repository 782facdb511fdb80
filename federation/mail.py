"""E-mail from a node to its members, through a pluggable sender (hook ``medmci_mail_senders``).

The core builds the message and records what became of it; a :class:`MailSender` only delivers. Built-ins are in
``plugins/mail_senders.py`` (``file``, ``console``, ``smtp``); the setting ``mail.sender`` chooses one by name.
A sender answers each message with a :class:`Delivery`; one that raises is a failed delivery of that message
alone (the others are still sent), never a failure of the announcement.
"""

from __future__ import annotations

import email.policy
import email.utils
from dataclasses import dataclass, field
from email.message import EmailMessage

import pluggy

from .errors import ConfigurationError
from .plugin_calls import collect
from .plugin_manager import plugin_error
from .settings import Settings

#: What became of one message: handed to the sender's transport, refused by it, or never tried (no address).
DELIVERY_STATES = ("sent", "failed", "no_address", "not_sent")
#: A delivery's detail is kept this short (a transport's error can quote a whole server dialogue).
MAX_DETAIL_CHARS = 500


@dataclass(frozen=True)
class MailMessage:
    """One message to one recipient (plain text; the sender encodes it)."""

    to: str
    subject: str
    body: str
    sender: str  # the From address (setting mail.from)
    #: Extra headers a sender may write (e.g. ``X-Medmci-Announcement``); never To, From or Subject.
    headers: dict[str, str] = field(default_factory=dict)

    def as_email(self) -> EmailMessage:
        """The message as RFC 5322 bytes will say it (``bytes(message.as_email())``); header injection is refused by
        the email package's strict policy (a line break in a header value raises)."""
        message = EmailMessage(policy=email.policy.SMTP)
        message["From"] = self.sender
        message["To"] = self.to
        message["Subject"] = self.subject
        message["Date"] = email.utils.formatdate(localtime=False)
        message["Message-ID"] = email.utils.make_msgid(domain="medmci.invalid")
        for name, value in self.headers.items():
            message[name] = value
        message.set_content(self.body)
        return message


@dataclass(frozen=True)
class Delivery:
    """A sender's answer for one message: ``sent`` or ``failed``, and a short detail (where it went, or why not)."""

    state: str
    detail: str = ""


class MailSender:
    """A way to deliver mail. Subclass it (or give the same two attributes): ``name``, the value of ``mail.sender``
    that selects it, and :meth:`send`."""

    name: str = ""

    def send(self, message: MailMessage) -> Delivery:  # pragma: no cover - the interface
        raise NotImplementedError


def _check_sender(sender: object) -> str | None:
    name = getattr(sender, "name", None)
    if not isinstance(name, str) or not name:
        return f"a mail sender needs a non-empty name, not {name!r}"
    if not callable(getattr(sender, "send", None)):
        return f"mail sender {name!r} has no send(message) method"
    return None


def mail_senders(pm: pluggy.PluginManager, settings: Settings) -> dict[str, MailSender]:
    """Every sender the plugins provide, by name (a plugin whose hook raises, or returns a sender without a name or
    a ``send`` method, or a name another plugin has, is a :class:`federation.PluginError` naming it)."""
    senders: dict[str, MailSender] = {}
    for provided in collect(pm, "medmci_mail_senders", None, _check_sender, settings=settings):
        sender = provided.item
        if sender.name in senders:
            raise plugin_error(pm, provided.plugin, provided.hook, f"two plugins provide the mail sender "
                                                                   f"{sender.name!r}")
        senders[sender.name] = sender
    return senders


def chosen_sender(senders: dict[str, MailSender], name: str) -> MailSender:
    """The sender ``mail.sender`` names, or a configuration error listing the ones there are."""
    try:
        return senders[name]
    except KeyError:
        raise ConfigurationError(f"settings: mail.sender is {name!r}, which no plugin provides (there are: "
                                 f"{', '.join(sorted(senders)) or 'none'})") from None


def deliver(sender: MailSender, message: MailMessage) -> Delivery:
    """Send one message; whatever the sender raises or returns wrongly is a failed delivery of it, with why."""
    try:
        delivery = sender.send(message)
    except Exception as exc:  # noqa: BLE001 - a transport's error (refused connection, bad login): one failure
        return Delivery("failed", _clip(f"{type(exc).__name__}: {exc}"))
    if not isinstance(delivery, Delivery) or delivery.state not in ("sent", "failed"):
        return Delivery("failed", _clip(f"mail sender {sender.name!r} answered {delivery!r}, not a Delivery "
                                        f"(sent or failed)"))
    return Delivery(delivery.state, _clip(delivery.detail))


def _clip(text: str) -> str:
    text = str(text or "")
    return text if len(text) <= MAX_DETAIL_CHARS else text[:MAX_DETAIL_CHARS - 1] + "…"


@dataclass(frozen=True)
class Mailer:
    """The node's way out: the chosen sender and the From address (``mail.from``)."""

    sender: MailSender
    from_address: str

    def send(self, to: str, subject: str, body: str, headers: dict[str, str] | None = None) -> Delivery:
        return deliver(self.sender, MailMessage(to, subject, body, self.from_address, dict(headers or {})))
