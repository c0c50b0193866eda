"""Channels that carry a notice to the office or a producer: email (SMTP) today, Zalo OA or SMS later.

A channel is anything with a ``name`` and ``send(message)``; ``services.notifications`` (the
office) and ``services.producer_notices`` (producers) decide what is due and to whom and record
what was sent per channel, so a new channel is one class here (plus its settings) and one line in
``channels_from``. SMTP uses the standard library's client.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

from stamp_service.config import Settings


@dataclass(frozen=True)
class Message:
    """One notice, ready to send: Vietnamese first, English after, to the office's or producer's addresses."""

    subject: str
    text: str
    to: tuple[str, ...]


class Channel(Protocol):
    @property
    def name(self) -> str:
        """Recorded with each notice sent, so each channel sends it once."""

    def send(self, message: Message) -> None:
        """Deliver ``message`` or raise OSError / smtplib.SMTPException (it is retried next run)."""


@dataclass(frozen=True)
class EmailChannel:
    host: str
    port: int
    sender: str
    starttls: bool = False
    user: str = ""
    password: str = ""
    timeout: float = 15.0
    name: str = "email"

    def send(self, message: Message) -> None:
        email = EmailMessage()
        email["Subject"] = message.subject
        email["From"] = self.sender
        email["To"] = ", ".join(message.to)
        email["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        email.set_content(message.text)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password)
            smtp.send_message(email)


def channels_from(settings: Settings) -> list[Channel]:
    """The channels the settings switch on (none by default: notifications are off)."""
    channels: list[Channel] = []
    if settings.smtp_host:
        channels.append(
            EmailChannel(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.smtp_sender,
                starttls=settings.smtp_starttls,
                user=settings.smtp_user,
                password=settings.smtp_password,
            )
        )
    return channels
