"""Outgoing e-mail through the operator's SMTP server (settings ``smtp_*``)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from clipdex.errors import MailFailed


def send(settings, to: str, subject: str, body: str) -> None:
    """One plain-text message; MailFailed (without server details) when the server refuses or is down."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = settings.smtp_from, to, subject
    msg.set_content(body)
    context = ssl.create_default_context()
    try:
        if settings.smtp_security == "ssl":
            server = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s,
                                      context=context)
        else:
            server = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s)
        with server:
            if settings.smtp_security == "starttls":
                server.starttls(context=context)
            if settings.smtp_username:
                password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                server.login(settings.smtp_username, password)
            server.send_message(msg)
    except (OSError, smtplib.SMTPException):
        raise MailFailed("The mail server did not accept the message; try again later or ask an "
                         "administrator for a reset link.") from None
