"""The organiser's books over the API: transactions, ledger balances, and a reconciliation that can fail."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from boxoffice.db import Database
from boxoffice.models import LedgerEntry
from tests.checkout_helpers import checkout, hold, press, setup_sale, wait_order
from tests.harness import Tokens


async def test_books_reconcile_and_catch_tampering(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any
) -> None:
    event, tt = await setup_sale(api, tokens, base_price_cents=4000)
    paid = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], 2)])).json()
    await press(api, paid["payment_url"], "pay")
    await wait_order(api, tokens.buyer(), paid["order_id"], lambda o: o["status"] == "fulfilled")
    declined = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], 1, user="bob")], user="bob")).json()
    await press(api, declined["payment_url"], "decline")
    await wait_order(api, tokens.buyer("bob"), declined["order_id"], lambda o: o["status"] == "cancelled")

    admin = tokens.admin()
    txns = (await api.get("/v1/transactions", headers=admin)).json()
    assert sorted(t["status"] for t in txns) == ["failed", "succeeded"]
    assert (await api.get("/v1/transactions?status=succeeded", headers=admin)).json()[0]["amount"] == 8000

    books = (await api.get(f"/v1/ledger?event_id={event['id']}", headers=admin)).json()
    assert books["balances"]["provider_clearing:sandbox"] == {"ZAR": 8000}
    assert books["balances"]["organizer_payable"] == {"ZAR": -8000}
    assert sum(e["amount"] for e in books["entries"]) == 0

    report = (await api.get(f"/v1/reports/reconciliation?event_id={event['id']}", headers=admin)).json()
    assert report["balanced"] is True, report
    assert {c["check"] for c in report["checks"]} >= {"inventory:GA", "journals_balance", "clearing:sandbox:ZAR"}

    # Someone edits the books behind the ledger's back: reconciliation says so.
    async with db.transaction() as s:
        s.add(
            LedgerEntry(
                journal_key="sale:forged",
                organization_id="org1",
                event_id=uuid.UUID(event["id"]),
                kind="sale",
                account="provider_clearing:sandbox",
                amount=100,
                currency="ZAR",
            )
        )
    report = (await api.get("/v1/reports/reconciliation", headers=admin)).json()
    failed = {c["check"] for c in report["checks"] if not c["ok"]}
    assert report["balanced"] is False and failed == {"journals_balance", "clearing:sandbox:ZAR"}

    assert (await api.get("/v1/ledger", headers=tokens.buyer())).status_code == 403
    r = await api.get(f"/v1/reports/reconciliation?event_id={event['id']}", headers=tokens.admin(org="org2"))
    assert r.status_code == 404 and r.json()["code"] == "event_not_found"
    assert (await api.get("/v1/transactions", headers=tokens.admin(org="org2"))).json() == []
