"""E-mail to buyers: messages rendered from plain dataclasses, and a Mailer that sends each one once per cause.

Wiring, in a sending activity::

    mail = OrderMail(...)                                   # from the order, event and tickets
    cause = confirmation_cause(order_id)                    # skip if the sent-marker for ``cause`` exists
    await mailer.send(confirmation(mail, pdf), message_id=message_id_for(cause))
    # then record the sent-marker for ``cause``
"""

from boxoffice.messaging.causes import (
    cancellation_cause,
    cause,
    confirmation_cause,
    message_id_for,
    refund_cause,
    void_cause,
)
from boxoffice.messaging.render import (
    OrderMail,
    TicketLine,
    cancellation,
    confirmation,
    format_when,
    refund,
    void,
)
from boxoffice.messaging.transport import MailDeliveryError, Mailer, SmtpTarget, parse_smtp_url

__all__ = [
    "MailDeliveryError",
    "Mailer",
    "OrderMail",
    "SmtpTarget",
    "TicketLine",
    "cancellation",
    "cancellation_cause",
    "cause",
    "confirmation",
    "confirmation_cause",
    "format_when",
    "message_id_for",
    "parse_smtp_url",
    "refund",
    "refund_cause",
    "void",
    "void_cause",
]
