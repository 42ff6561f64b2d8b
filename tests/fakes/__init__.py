"""Local fakes of the payment providers' HTTP APIs, served over real HTTP for the provider client tests."""

from tests.fakes.paystack import PaystackFake
from tests.fakes.server import FakeProvider, FakeServer, RecordedRequest, SignedWebhook, WebhookSink, running, serve
from tests.fakes.stripe import StripeFake
from tests.fakes.yoco import YocoFake

__all__ = [
    "FakeProvider",
    "FakeServer",
    "PaystackFake",
    "RecordedRequest",
    "SignedWebhook",
    "StripeFake",
    "WebhookSink",
    "YocoFake",
    "running",
    "serve",
]
