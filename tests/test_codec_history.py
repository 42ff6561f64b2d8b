"""A real workflow history on a real Temporal server holds no personal data once payloads are encrypted, and the
codec-server endpoint opens it for an operator only."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

# The workflow sandbox re-imports this module to run PiiWorkflow; the web and test libraries are not its business.
with workflow.unsafe.imports_passed_through():
    from google.protobuf import json_format

    from boxoffice.auth import Role
    from boxoffice.codec import ENCODING, data_converter
    from tests.codec_samples import (
        EMAIL,
        HEADERS,
        NAME,
        ROTATED,
        Person,
        bearer,
        codec_client,
        from_json,
        mint,
        operator_token,
    )

ATTENDEE = Person("charles.babbage@example.org", "Charles Babbage")
CLOSER = "Grace Hopper"


@activity.defn
async def greet(person: Person) -> str:
    return f"Dear {person.name} <{person.email}>"


@activity.defn
async def refuse(person: Person) -> None:
    raise ApplicationError(f"no seat left for {person.name} <{person.email}>", type="SoldOut", non_retryable=True)


@workflow.defn
class PiiWorkflow:
    def __init__(self) -> None:
        self.people: list[Person] = []
        self.closed_by: str | None = None

    @workflow.run
    async def run(self, buyer: Person) -> list[str]:
        self.people.append(buyer)
        timeout = timedelta(seconds=30)
        lines = [await workflow.execute_activity(greet, buyer, start_to_close_timeout=timeout)]
        try:
            await workflow.execute_activity(refuse, buyer, start_to_close_timeout=timeout)
        except ActivityError as err:
            lines.append(str(err.cause))
        await workflow.wait_condition(lambda: self.closed_by is not None)
        return [*lines, *(p.email for p in self.people), f"closed by {self.closed_by}"]

    @workflow.signal
    def attendee(self, person: Person) -> None:
        self.people.append(person)

    @workflow.update
    def close(self, name: str) -> str:
        self.closed_by = name
        return f"closed by {name}"

    @workflow.query
    def names(self) -> list[str]:
        return [p.name for p in self.people]


async def test_a_workflow_history_holds_no_pii_and_the_codec_endpoint_opens_it(
    temporal_env: WorkflowEnvironment, task_queue: str
) -> None:
    plain: Client = temporal_env.client
    config = plain.config()
    config["data_converter"] = data_converter(ROTATED)
    sealed = Client(**config)
    workflow_id = f"pii-{uuid.uuid4().hex[:8]}"
    async with Worker(sealed, task_queue=task_queue, workflows=[PiiWorkflow], activities=[greet, refuse]):
        handle = await sealed.start_workflow(
            PiiWorkflow.run, Person(EMAIL, NAME), id=workflow_id, task_queue=task_queue
        )
        await handle.signal(PiiWorkflow.attendee, ATTENDEE)
        assert await handle.execute_update(PiiWorkflow.close, CLOSER) == f"closed by {CLOSER}"
        result = await handle.result()
        assert sorted(await handle.query(PiiWorkflow.names)) == sorted([NAME, ATTENDEE.name])
    assert result[0] == f"Dear {NAME} <{EMAIL}>" and EMAIL in result[1] and ATTENDEE.email in result
    assert result[-1] == f"closed by {CLOSER}"

    history = await plain.get_workflow_handle(workflow_id).fetch_history()
    raw = b"".join(event.SerializeToString() for event in history.events)
    for secret in (EMAIL, NAME, ATTENDEE.email, ATTENDEE.name, CLOSER):
        assert secret.encode() not in raw, secret
    assert raw.count(ENCODING) >= 8  # input, activity inputs and results, failure, signal, update, result

    started = history.events[0].workflow_execution_started_event_attributes.input
    async with codec_client() as http:
        resp = await http.post(
            "/codec/decode", content=json_format.MessageToJson(started), headers={**HEADERS, **bearer(operator_token())}
        )
        assert resp.status_code == 200
        assert json.loads(from_json(resp.text)[0].data) == {"email": EMAIL, "name": NAME}
        resp = await http.post(
            "/codec/decode", content=json_format.MessageToJson(started), headers={**HEADERS, **mint(Role.ORG_ADMIN)}
        )
        assert resp.status_code == 403 and EMAIL not in resp.text
