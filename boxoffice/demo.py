"""``boxoffice demo``: buy two tickets end to end on a running stack through the sandbox provider.

It signs its buyer token with the data directory's secret and finds the stack where ``boxoffice dev`` of that
data directory says it runs (``dev.json``): ``--data-dir`` names it (default ``BOXOFFICE_DATA_DIR``, else
``.boxoffice``), and ``--api``/``--ui`` override what the file says.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any

import httpx

from boxoffice.auth import Role, mint_token
from boxoffice.catalogue.seed import DEMO_ORG
from boxoffice.config import settings_or_exit
from boxoffice.devstack import read_run_file
from boxoffice.messaging import confirmation_cause, message_id_for

DEFAULT_API, DEFAULT_UI = "http://127.0.0.1:8000", "http://127.0.0.1:8233"


class DemoFailed(Exception):
    pass


def _ok(r: httpx.Response, what: str, status: int = 200) -> Any:
    if r.status_code != status:
        raise DemoFailed(f"{what}: HTTP {r.status_code} {r.text[:300]}")
    return r.json()


async def run_demo(api: str, ui: str, quantity: int = 2, timeout: float = 90, namespace: str | None = None) -> int:
    settings = settings_or_exit()
    token = mint_token(settings.jwt_secret, user=f"demo-buyer-{int(time.time())}", org=DEMO_ORG, role=Role.BUYER)
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=api, timeout=30, headers=auth) as http:
        events = _ok(await http.get("/v1/events"), "list events")
        if not events:
            raise DemoFailed("no events in the demo organisation: is this a `boxoffice dev` stack?")
        event = events[0]
        rows = _ok(await http.get(f"/v1/events/{event['id']}/availability"), "availability")
        choice = next(
            (r for r in rows if r["pricing_model"] == "fixed" and r["on_sale"] and r["available"] >= quantity), None
        )
        if choice is None:
            raise DemoFailed("no fixed-price ticket type on sale with seats left")
        hold = _ok(
            await http.post("/v1/holds", json={"ticket_type_id": choice["ticket_type_id"], "quantity": quantity}),
            "hold seats",
            201,
        )
        print(f"held {quantity} × {choice['name']} for {event['name']} (hold {hold['id']})")
        started = time.monotonic()
        checkout = _ok(
            await http.post(
                "/v1/checkouts",
                json={
                    "hold_ids": [hold["id"]],
                    "provider": "sandbox",
                    "buyer": {"email": "demo.buyer@example.com", "name": "Demo Buyer"},
                },
                headers={"Idempotency-Key": f"demo-{hold['id']}"},
            ),
            "checkout",
            201,
        )
        order_id = checkout["order_id"]
        print(
            f"order {order_id}: {checkout['status']}, {checkout['total_amount'] / 100:.2f} {checkout['currency']} "
            f"({(time.monotonic() - started) * 1000:.0f} ms to the payment page)"
        )
        print(f"payment page: {checkout['payment_url']}")
        pay_path = httpx.URL(checkout["payment_url"]).raw_path.decode()
        _ = (await http.get(pay_path)).text  # the page a buyer sees
        r = await http.post(pay_path, data={"action": "pay", "webhook": "normal"})
        if r.status_code not in (200, 303):
            raise DemoFailed(f"pressing Pay: HTTP {r.status_code}")
        print("pressed Pay on the sandbox page; waiting for the order to be fulfilled…")
        deadline = time.monotonic() + timeout
        order: dict[str, Any] = {}
        while time.monotonic() < deadline:
            order = _ok(await http.get(f"/v1/orders/{order_id}"), "read order")
            if order["status"] in ("fulfilled", "cancelled", "refunded"):
                break
            await asyncio.sleep(0.25)
    print()
    print(f"order id:     {order_id}")
    print(
        f"status:       {order.get('status')} (payment {order.get('payment_status')}, "
        f"fulfilment {order.get('fulfillment_status')})"
    )
    print("tickets:      " + ", ".join(t["ticket_code"] for t in order.get("tickets", [])))
    print(f"PDF:          {api}/v1/orders/{order_id}/tickets.pdf (with the buyer's token)")
    pdf_file = settings.data_dir.resolve() / "storage" / "orders" / order_id / "tickets.pdf"
    if pdf_file.exists():
        print(f"              {pdf_file}")
    eml = settings.outbox_dir.resolve() / f"{message_id_for(confirmation_cause(order_id))}.eml"
    if eml.exists():
        print(f"e-mail:       {eml}")
    print(f"Temporal UI:  {ui}/namespaces/{namespace or settings.temporal_namespace}/workflows/checkout-{order_id}")
    return 0 if order.get("status") == "fulfilled" else 1


def cmd_demo(args: argparse.Namespace) -> int:
    if args.data_dir:
        os.environ["BOXOFFICE_DATA_DIR"] = args.data_dir  # before the settings are first built
    running = read_run_file(settings_or_exit().data_dir) or {}
    api = args.api or running.get("api") or DEFAULT_API
    ui = args.ui or running.get("ui") or DEFAULT_UI
    try:
        return asyncio.run(run_demo(api.rstrip("/"), ui.rstrip("/"), namespace=running.get("namespace")))
    except (DemoFailed, httpx.HTTPError) as exc:
        print(f"demo failed: {exc}")
        return 1


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="buy two tickets end to end on a running stack (sandbox provider)")
    demo.add_argument("--data-dir", default=None, help="the data directory of the `boxoffice dev` to use")
    demo.add_argument("--api", default=None, help=f"the API (default: where the stack runs, else {DEFAULT_API})")
    demo.add_argument("--ui", default=None, help=f"the Temporal Web UI, for the link (default: as --api, {DEFAULT_UI})")
    demo.set_defaults(func=cmd_demo)
