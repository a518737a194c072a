"""NOMOS client conformance: drives Stepwise's NOMOS routes the way NOMOS's own Python client does.

Usage: python3 client_conformance.py <base_url>      (exit 0: every route answered as NOMOS's client expects)

The pydantic models below mirror NOMOS's models field by field, as the NOMOS source declares them:
  - nomos/models/agent.py: Action, ToolCall, Decision, Event, Message, Summary, StepIdentifier, FlowState, State
  - nomos/models/flow.py:  FlowContext
  - nomos/api/models.py:   ChatRequest, ChatResponse, SessionResponse (its session_data is NOMOS's `State`),
                            the message body {content}, and FastAPI's error body {detail}
  - nomos/api/app.py:      the routes and the health reply {status, timestamp}
Requests are sent as nomos/client.py sends them: `Content-Type: application/json` on every request, an EMPTY body
on `POST /session` and `DELETE /session/{id}`, and on `/chat` the previous reply's `session_data.model_dump()`
serialised with a JSON encoder that knows datetimes only (so anything else that is not plain JSON breaks it, as it
breaks NOMOS's client). Errors are read from `detail`, as the client reads them. Standard library HTTP only.

The server must serve the scripted agent of test/api/nomos-client.test.ts (test/support/nomos-client.ts):
steps greet -> order (flow `ordering`, tool add_item) -> checkout; "order ..." moves to order, "done" to checkout,
"bye" ends.
"""

import json
import sys
import urllib.error
import urllib.request
from datetime import datetime
from enum import Enum
from typing import Any, Dict, List, Literal, Optional, Union

from pydantic import BaseModel, Field


# --- nomos/models/agent.py ------------------------------------------------------------------------------------------
class Action(Enum):
    MOVE = "MOVE"
    RESPOND = "RESPOND"
    TOOL_CALL = "TOOL_CALL"
    END = "END"


class ToolCall(BaseModel):
    tool_name: str
    tool_kwargs: BaseModel


class Decision(BaseModel):
    reasoning: List[str]
    action: Action
    response: Optional[Union[str, BaseModel]] = None
    suggestions: Optional[List[str]] = None
    step_id: Optional[str] = None
    tool_call: Optional[ToolCall] = None


class Event(BaseModel):
    timestamp: datetime = Field(default_factory=datetime.now)
    type: str
    content: str
    decision: Optional[Decision] = None


class Message(BaseModel):
    role: Union[Literal["user", "tool", "error", "fallback"], str]
    content: str


class Summary(BaseModel):
    summary: List[str]


class StepIdentifier(BaseModel):
    step_id: str


# --- nomos/models/flow.py -------------------------------------------------------------------------------------------
class FlowContext(BaseModel):
    flow_id: str
    entry_step: str
    previous_context: Optional[List[Union[Event, Summary]]] = None
    metadata: Dict[str, Any] = Field(default_factory=dict)


class FlowState(BaseModel):
    flow_id: str
    flow_context: FlowContext
    flow_memory_context: List[Union[Event, Summary, StepIdentifier]] = Field(default_factory=list)


class State(BaseModel):
    session_id: str
    current_step_id: str
    history: List[Union[Summary, Event, StepIdentifier]] = Field(default_factory=list)
    flow_state: Optional[FlowState] = None


# --- nomos/api/models.py --------------------------------------------------------------------------------------------
class MessageBody(BaseModel):
    content: str


class SessionResponse(BaseModel):
    session_id: str
    message: Dict[str, Any]


class ChatRequest(BaseModel):
    user_input: Optional[str] = None
    session_data: Optional[Dict[str, Any]] = None


class ChatResponse(BaseModel):
    response: Dict[str, Any]
    tool_output: Optional[str] = None
    session_data: State


class HistoryResponse(BaseModel):
    session_id: str
    history: List[Event]


class DeleteResponse(BaseModel):
    message: str


class HealthResponse(BaseModel):
    status: str
    timestamp: datetime


class ErrorResponse(BaseModel):
    detail: str


# --- nomos/client.py: how requests go out ---------------------------------------------------------------------------
class DateTimeEncoder(json.JSONEncoder):
    """The only non-JSON type NOMOS's client encodes: datetimes."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime):
            return o.isoformat()
        return super().default(o)


class HttpError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


def request(base: str, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
    """One call as NOMOS's client makes it: JSON content type always; no body at all when it has none."""
    data = b"" if body is None else json.dumps(body, cls=DateTimeEncoder).encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return json.loads(res.read() or b"null")
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw.decode(errors="replace")
        raise HttpError(err.code, parsed) from None


# --- the conversation -----------------------------------------------------------------------------------------------
results: List[str] = []


def check(label: str, condition: bool, detail: str = "") -> None:
    if not condition:
        raise AssertionError(f"{label}: {detail}")


def route(label: str, fn):
    try:
        value = fn()
    except Exception as err:  # noqa: BLE001 - report which route failed and why, then stop
        results.append(f"FAIL {label}: {type(err).__name__}: {err}")
        finish(1)
    results.append(f"ok   {label}")
    return value


def finish(code: int) -> None:
    print("\n".join(results))
    print("NOMOS client conformance: " + ("passed" if code == 0 else "FAILED"))
    sys.exit(code)


def chat(base: str, user_input: Optional[str], state: Optional[State]) -> ChatResponse:
    body = ChatRequest(user_input=user_input, session_data=state.model_dump() if state else None)
    return ChatResponse.model_validate(request(base, "POST", "/chat", body.model_dump()))


def expect_404(base: str, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> ErrorResponse:
    try:
        request(base, method, path, body)
    except HttpError as err:
        check(path, err.status == 404, f"status {err.status}, expected 404")
        return ErrorResponse.model_validate(err.body)
    raise AssertionError(f"{method} {path} answered 2xx, expected 404")


def main(base: str) -> None:
    health = route("GET /health", lambda: HealthResponse.model_validate(request(base, "GET", "/health")))
    check("health", bool(health.status))

    # Stateful session routes.
    created = route("POST /session?initiate=true (empty JSON body)", lambda: SessionResponse.model_validate(request(base, "POST", "/session?initiate=true")))
    opening = Decision.model_validate(created.message)
    check("opening", opening.action == Action.RESPOND and opening.response == "Welcome! What would you like?", repr(opening))
    sid = created.session_id

    plain = route("POST /session (empty JSON body)", lambda: SessionResponse.model_validate(request(base, "POST", "/session")))
    check("created", plain.message.get("status") == "Session created successfully", repr(plain.message))

    def send(text: str) -> Decision:
        reply = SessionResponse.model_validate(request(base, "POST", f"/session/{sid}/message", MessageBody(content=text).model_dump()))
        check("session id", reply.session_id == sid, reply.session_id)
        return Decision.model_validate(reply.message)

    entered = route("POST /session/{id}/message: enter flow + tool call", lambda: send("order a latte"))
    check("tool reply", entered.response == "Added order a latte.", repr(entered))

    in_flow = route("GET /session/{id}/history (inside the flow)", lambda: HistoryResponse.model_validate(request(base, "GET", f"/session/{sid}/history")))
    types = [e.type for e in in_flow.history]
    # Session memory only: the flow's tool event and reply are in flow memory, not here.
    check("history in flow", "tool" not in types and types[-1] == "user", repr(types))

    left = route("POST /session/{id}/message: leave flow", lambda: send("done"))
    check("left", left.response == "Anything else?", repr(left))

    ended = route("POST /session/{id}/message: END", lambda: send("bye"))
    check("end", ended.action == Action.END, repr(ended))

    after_end = route("POST /session/{id}/message after END (goes on)", lambda: send("one more thing"))
    check("after end", after_end.action == Action.RESPOND, repr(after_end))

    full = route("GET /session/{id}/history (after END)", lambda: HistoryResponse.model_validate(request(base, "GET", f"/session/{sid}/history")))
    contents = [e.content for e in full.history]
    check("history after end", "one more thing" in contents and any(e.type == "end" for e in full.history), repr(contents))

    deleted = route("DELETE /session/{id} (empty JSON body)", lambda: DeleteResponse.model_validate(request(base, "DELETE", f"/session/{sid}")))
    check("deleted", bool(deleted.message))
    route("POST /session/{id}/message after DELETE -> 404 {detail}", lambda: expect_404(base, "POST", f"/session/{sid}/message", {"content": "hello?"}))
    route("GET /session/{id}/history after DELETE -> 404 {detail}", lambda: expect_404(base, "GET", f"/session/{sid}/history"))
    route("DELETE /session/{id} after DELETE -> 404 {detail}", lambda: expect_404(base, "DELETE", f"/session/{sid}"))
    route("POST /session/{unknown}/message -> 404 {detail}", lambda: expect_404(base, "POST", "/session/no-such-session/message", {"content": "hi"}))

    # Stateless /chat: the client holds the state and sends its model_dump() back each time.
    first = route("POST /chat (new session)", lambda: chat(base, "hi", None))
    check("chat first", first.tool_output is None and first.session_data.flow_state is None, repr(first))

    tool = route("POST /chat: enter flow + tool call (state sent back)", lambda: chat(base, "order a muffin", first.session_data))
    check("tool_output", tool.tool_output == '{"added":"order a muffin"}', repr(tool.tool_output))
    fs = tool.session_data.flow_state
    check("flow_state", fs is not None and fs.flow_id == "ordering" and fs.flow_context.entry_step == "order", repr(fs))
    check("step marker", any(isinstance(i, StepIdentifier) and i.step_id == "order" for i in tool.session_data.history), repr(tool.session_data.history))
    check("flow memory", any(isinstance(i, Event) and i.type == "tool" and "executed successfully with args" in i.content for i in fs.flow_memory_context), repr(fs))

    # The same client-held state, as another NOMOS server would have left it: Stepwise seeds a new session from it.
    foreign = tool.session_data.model_copy(update={"session_id": "held by the client"})
    seeded = route("POST /chat: client-held state seeds a new session", lambda: chat(base, "done", foreign))
    check("seeded left flow", seeded.session_data.flow_state is None and seeded.session_data.current_step_id == "checkout", repr(seeded.session_data))
    check("summary item", any(isinstance(i, Summary) for i in seeded.session_data.history), repr(seeded.session_data.history))

    again = route("POST /chat: summaries and step markers round-trip", lambda: chat(base, "anything", seeded.session_data))
    check("same session", again.session_data.session_id == seeded.session_data.session_id, again.session_data.session_id)

    bye = route("POST /chat: END", lambda: chat(base, "bye", again.session_data))
    check("chat end", bye.response.get("action") == "END", repr(bye.response))
    on = route("POST /chat after END (goes on)", lambda: chat(base, "hello again", bye.session_data))
    check("chat after end", on.response.get("action") == "RESPOND", repr(on.response))

    finish(0)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: client_conformance.py <base_url>", file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1].rstrip("/"))
