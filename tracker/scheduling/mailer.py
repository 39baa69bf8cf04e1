"""Sending over SMTP with the standard library: always with a timeout, STARTTLS or SSL as configured,
refused recipients checked (``send_message`` returns them instead of raising), one connection reused
for a whole tick and reopened once if the server dropped it."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from types import TracebackType

from tracker.scheduling.settings import SmtpSettings


class SendError(Exception):
    """This message could not be sent (retry it later)."""


class MailerUnavailable(SendError):
    """The server cannot be reached at all: stop trying further messages in this tick."""


class SmtpMailer:
    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpMailer:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            if s.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                                      context=ssl.create_default_context(cafile=s.cafile))
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context(cafile=s.cafile))
            if s.user:
                smtp.login(s.user, s.password or "")
        except smtplib.SMTPAuthenticationError as e:
            raise MailerUnavailable(f"SMTP 登录失败（{s.describe()}）：{e.smtp_code} {_text(e.smtp_error)}") from e
        except (OSError, smtplib.SMTPException) as e:
            raise MailerUnavailable(f"无法连接邮件服务器 {s.describe()}：{e}") from e
        return smtp

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None

    def send(self, msg: EmailMessage, recipient: str) -> None:
        """Send to exactly ``recipient`` (the envelope); raises SendError / MailerUnavailable."""
        fresh = self._smtp is None
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            refused = self._smtp.send_message(msg, from_addr=self.settings.sender, to_addrs=[recipient])
        except smtplib.SMTPServerDisconnected as e:
            self._smtp = None
            if fresh:
                raise MailerUnavailable(f"邮件服务器断开连接：{e}") from e
            return self.send(msg, recipient)  # a reused connection the server had closed: once more
        except smtplib.SMTPRecipientsRefused as e:
            raise SendError(f"收件人被拒绝：{_refused(e.recipients)}") from e
        except smtplib.SMTPResponseException as e:
            self.close()
            raise SendError(f"邮件服务器拒收：{e.smtp_code} {_text(e.smtp_error)}") from e
        except (OSError, smtplib.SMTPException) as e:
            self._smtp = None
            raise MailerUnavailable(f"发送时与邮件服务器的连接出错：{e}") from e
        if refused:
            raise SendError(f"收件人被拒绝：{_refused(refused)}")


def _text(b: bytes | str) -> str:
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)


def _refused(d: dict[str, tuple[int, bytes]]) -> str:
    return "；".join(f"{k}（{code} {_text(msg)}）" for k, (code, msg) in d.items())
