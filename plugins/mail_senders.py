"""The built-in mail senders of a node (hook ``medmci_mail_senders``); the setting ``mail.sender`` picks one.

- ``file`` (the default): each message is written as an ``.eml`` file in ``mail.file_folder`` under the node's
  instance folder, where a person (or a test) reads it; the demo uses it. Nothing leaves the machine.
- ``console``: each message is printed on standard output, its untrusted text escaped.
- ``smtp``: the standard library's ``smtplib`` to the server of ``mail.smtp.*`` (host, port, STARTTLS, user name;
  the password is read from the environment variable that ``mail.smtp.password_env`` names, never from a file).
  No provider is built in: an empty ``mail.smtp.host`` refuses to send, saying so.
"""

from __future__ import annotations

import os
import secrets
import smtplib
import ssl
import sys
from datetime import UTC, datetime
from pathlib import Path

from federation import Delivery, MailMessage, MailSender, hookimpl
from federation.display import guarded, shown

NAME = "mail_senders"


class FileSender(MailSender):
    """Writes each message as an .eml file (RFC 5322 bytes, as a mail client opens them)."""

    name = "file"

    def __init__(self, folder: Path):
        self.folder = folder

    def send(self, message: MailMessage) -> Delivery:
        self.folder.mkdir(parents=True, exist_ok=True)
        # A timestamp sorts the files; a random tail keeps two messages of one second apart.
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.folder / f"{stamp}-{secrets.token_hex(4)}.eml"
        path.write_bytes(bytes(message.as_email()))
        return Delivery("sent", f"written to {path}")


class ConsoleSender(MailSender):
    """Prints each message; what members wrote is escaped, so it cannot drive the terminal."""

    name = "console"

    def send(self, message: MailMessage) -> Delivery:
        print(f"--- mail to {shown(message.to)}: {shown(message.subject)}\n{guarded(message.body)}\n---",
              file=sys.stdout, flush=True)
        return Delivery("sent", "printed on the console")


class SmtpSender(MailSender):
    """One SMTP connection per message (an announcement sends few, and a failure stays that recipient's)."""

    name = "smtp"

    def __init__(self, host: str, port: int, starttls: bool, username: str, password_env: str, timeout_s: float):
        self.host, self.port, self.starttls = host, port, starttls
        self.username, self.password_env, self.timeout_s = username, password_env, timeout_s

    def send(self, message: MailMessage) -> Delivery:
        if not self.host:
            return Delivery("failed", "settings: mail.smtp.host is empty: set the SMTP server to send through")
        password = os.environ.get(self.password_env, "") if self.password_env else ""
        if self.username and not password:
            return Delivery("failed", f"settings: mail.smtp.username is set but the environment variable "
                                      f"{self.password_env or '(mail.smtp.password_env is empty)'} holds no password")
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as connection:
            if self.starttls:
                connection.starttls(context=ssl.create_default_context())
            if self.username:
                connection.login(self.username, password)
            refused = connection.send_message(message.as_email())
        if refused:
            return Delivery("failed", f"refused by {self.host}: {refused}")
        return Delivery("sent", f"accepted by {self.host}:{self.port}")


@hookimpl
def medmci_mail_senders(settings):
    return [FileSender(Path(settings.instance_path) / str(settings.get("mail.file_folder"))),
            ConsoleSender(),
            SmtpSender(str(settings.get("mail.smtp.host") or ""), int(settings.get("mail.smtp.port")),
                       bool(settings.get("mail.smtp.starttls")), str(settings.get("mail.smtp.username") or ""),
                       str(settings.get("mail.smtp.password_env") or ""), float(settings.get("mail.smtp.timeout_s")))]
