"""A loopback GitHub REST server for tests: real HTTP on 127.0.0.1, stopped by the test.

Every request (method + path must be an operation of GitHub's API; its query parameters must be
declared; its JSON body must match the request schema) and every response (status declared for
the operation; body valid against the response schema) is checked against GitHub's official
OpenAPI description (tests/github_openapi.py). A violation is recorded and fails the test on exit.

Tokens: ``WORKFLOW_TOKEN`` is an Actions installation token (GET /user answers 403 "Resource not
accessible by integration", as GitHub does; it writes as github-actions[bot]); ``FORK_TOKEN`` the
read-only token of a fork's pull request (writes answer 403); ``user_token(login)`` a user's token.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests import github_openapi as oas
from tests.loopback import LoopbackServer

WORKFLOW_TOKEN = "ghs_workflowTOKENsecret0000000000000000"  # a recognisable secret: never printed
FORK_TOKEN = "ghs_forkREADONLYsecret11111111111111111"
BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}


@dataclass
class State:
    owner: str = "acme"
    repo: str = "prompts"
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # token -> user (type User)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)  # number -> {"merge_commit_sha"}
    heads: dict[int, str] = field(default_factory=dict)  # number -> the pull request's current head sha
    faults: list[tuple[str, int, dict[str, str]]] = field(default_factory=list)  # (path substring, status, headers)
    log: list[tuple[str, str, int]] = field(default_factory=list)  # (method, path, status)
    problems: list[str] = field(default_factory=list)  # OpenAPI violations
    next_id: int = 1000
    lock: threading.Lock = field(default_factory=threading.Lock)


def _user(login: str, uid: int, kind: str) -> dict[str, Any]:
    u: dict[str, Any] = oas.component("simple-user")
    u.update(login=login, id=uid, type=kind, node_id=f"U_{uid}")
    return u


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def _handle(self, method: str) -> None:
        st = self.server.state
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        with st.lock:
            try:
                template, op = oas.operation(method, url.path)
                base = f"paths/{oas.escape(template)}/{method.lower()}"
            except AssertionError as exc:
                st.problems.append(str(exc))
                return self._send(404, {"message": "Not Found", "documentation_url": "x"}, None, method, url.path)
            self._check_request(st, method, url.path, url.query, raw, op, base)
            for i, (needle, status, headers) in enumerate(st.faults):
                if needle in url.path:
                    del st.faults[i]
                    body = {"message": "You have exceeded a secondary rate limit", "documentation_url": "x"}
                    return self._send(status, body, op, method, url.path, headers, base)
            status, body, headers = self._route(st, method, url.path, parse_qs(url.query), raw)
            self._send(status, body, op, method, url.path, headers, base)

    def _check_request(
        self, st: State, method: str, path: str, query: str, raw: bytes, op: dict[str, Any], base: str
    ) -> None:
        declared = {oas.resolve(p)["name"] for p in op.get("parameters", []) if oas.resolve(p)["in"] == "query"}
        for name in parse_qs(query):
            if name not in declared:
                st.problems.append(f"{method} {path}: query parameter {name!r} is not in GitHub's API")
        if self.headers.get("Authorization", "").split(" ")[0] not in ("Bearer", "token"):
            st.problems.append(f"{method} {path}: no Authorization header")
        if raw:
            schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if schema is None:
                st.problems.append(f"{method} {path}: a body where GitHub takes none")
                return
            for err in oas.check(_json_schema(f"{base}/requestBody", op["requestBody"]), json.loads(raw)):
                st.problems.append(f"{method} {path}: request body: {err}")

    def _send(
        self,
        status: int,
        body: Any,
        op: dict[str, Any] | None,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        base: str = "",
    ) -> None:
        st = self.server.state
        st.log.append((method, path, status))
        if op is not None:
            resp = op["responses"].get(str(status))
            if resp is None:
                st.problems.append(f"{method} {path}: status {status} is not a response of this operation")
            else:
                schema = oas.resolve(resp).get("content", {}).get("application/json", {}).get("schema")
                if schema is not None:
                    for err in oas.check(_json_schema(f"{base}/responses/{status}", resp), body):
                        st.problems.append(f"{method} {path} -> {status}: {err}")
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    # ---- behaviour ---------------------------------------------------------------------------

    def _who(self, st: State) -> tuple[dict[str, Any] | None, bool]:
        """(user, may_write); None user: an unknown token."""
        token = self.headers.get("Authorization", "").split(" ")[-1]
        if token == WORKFLOW_TOKEN:
            return _user(BOT["login"], BOT["id"], "Bot"), True
        if token == FORK_TOKEN:
            return _user(BOT["login"], BOT["id"], "Bot"), False
        user = st.users.get(token)
        return user, user is not None

    def _route(
        self, st: State, method: str, path: str, query: dict[str, list[str]], raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        user, may_write = self._who(st)
        if user is None:
            return 401, {"message": "Bad credentials", "documentation_url": "x"}, {}
        parts = path.strip("/").split("/")
        if path == "/user":
            if user["type"] == "Bot":
                return 403, {"message": "Resource not accessible by integration", "documentation_url": "x"}, {}
            full = oas.component("public-user")
            full.update({k: user[k] for k in ("login", "id", "type", "node_id")})
            return 200, full, {}
        if parts[:3] != ["repos", st.owner, st.repo]:
            return 404, {"message": "Not Found", "documentation_url": "x"}, {}
        rest = parts[3:]
        if rest[:1] == ["issues"] and len(rest) == 3 and rest[2] == "comments":
            number = int(rest[1])
            if method == "GET":
                items = [c for c in st.comments.values() if c["_issue"] == number]
                return self._page(items, query)
            if not may_write:
                return 403, {"message": "Resource not accessible by integration", "documentation_url": "x"}, {}
            body = json.loads(raw)["body"]
            if len(body) > BODY_LIMIT:
                return 422, _too_long(), {}
            return 201, new_comment(st, number, user, body), {}
        if rest[:2] == ["issues", "comments"] and len(rest) == 3 and method == "PATCH":
            c = st.comments.get(int(rest[2]))
            if c is None:
                return 422, {"message": "Validation Failed", "documentation_url": "x"}, {}
            if not may_write or c["user"]["id"] != user["id"]:
                return 403, {"message": "Resource not accessible by integration", "documentation_url": "x"}, {}
            body = json.loads(raw)["body"]
            if len(body) > BODY_LIMIT:
                return 422, _too_long(), {}
            c["body"] = body
            c["updated_at"] = "2026-01-02T00:00:00Z"
            return 200, _public(c), {}
        if rest[:1] == ["pulls"] and len(rest) == 2 and method == "GET":
            number = int(rest[1])
            if number not in st.heads:
                return 404, {"message": "Not Found", "documentation_url": "x"}, {}
            pr: dict[str, Any] = oas.component("pull-request")
            pr["number"], pr["state"] = number, "open"
            pr["head"]["sha"] = st.heads[number]
            return 200, pr, {}
        if rest[:1] == ["commits"] and len(rest) == 3 and rest[2] == "pulls":
            items = [_pull(st, n, p) for n, p in sorted(st.pulls.items()) if p.get("merge_commit_sha") == rest[1]]
            return 200, items, {}
        return 404, {"message": "Not Found", "documentation_url": "x"}, {}

    def _page(self, items: list[dict[str, Any]], query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        per = int(query.get("per_page", ["30"])[0])
        page = int(query.get("page", ["1"])[0])
        chunk = items[(page - 1) * per : page * per]
        headers = {}
        if page * per < len(items):
            host, port = self.server.server_address[:2]
            headers["Link"] = (
                f'<http://{host!s}:{port}{urlsplit(self.path).path}?per_page={per}&page={page + 1}>; rel="next"'
            )
        return 200, [_public(c) for c in chunk], headers


# GitHub refuses a comment body over 65,536 characters (422, "body is too long").
BODY_LIMIT = 65536


def _too_long() -> dict[str, Any]:
    return {
        "message": "Validation Failed",
        "errors": [
            {
                "resource": "IssueComment",
                "code": "custom",
                "field": "body",
                "message": f"body is too long (maximum is {BODY_LIMIT} characters)",
            }
        ],
        "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
    }


def new_comment(st: State, number: int, user: dict[str, Any], body: str) -> dict[str, Any]:
    st.next_id += 1
    c: dict[str, Any] = oas.component("issue-comment")
    base = f"https://api.github.com/repos/{st.owner}/{st.repo}"
    c.update(
        id=st.next_id,
        node_id=f"IC_{st.next_id}",
        body=body,
        user=user,
        url=f"{base}/issues/comments/{st.next_id}",
        issue_url=f"{base}/issues/{number}",
        html_url=f"https://github.com/{st.owner}/{st.repo}/pull/{number}#issuecomment-{st.next_id}",
        _issue=number,
    )
    st.comments[st.next_id] = c
    return _public(c)


def _public(c: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in c.items() if not k.startswith("_")}


def _pull(st: State, number: int, p: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = oas.component("pull-request-simple")
    out.update(number=number, state="closed", merged_at="2026-01-01T00:00:00Z", merge_commit_sha=p["merge_commit_sha"])
    return out


def _json_schema(pointer: str, node: dict[str, Any]) -> str:
    """The pointer of the JSON schema of a request body or response at ``pointer`` (or its $ref)."""
    if "$ref" in node:
        pointer = node["$ref"][2:]
    return f"{pointer}/content/application~1json/schema"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: State


class GitHubServer(LoopbackServer):
    state: State

    def __init__(self) -> None:
        super().__init__(_Handler, State(), _Server)

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        if exc[0] is None:
            assert not self.state.problems, "GitHub API violations:\n" + "\n".join(self.state.problems)

    def user_token(self, login: str, uid: int) -> str:
        token = f"ghp_{login}_token"
        self.state.users[token] = _user(login, uid, "User")
        return token

    def post_as(self, token: str, number: int, body: str) -> None:
        """A comment written by someone else (through the state: as if posted on github.com)."""
        user = self.state.users[token]
        with self.state.lock:
            new_comment(self.state, number, user, body)

    def comments_on(self, number: int) -> list[dict[str, Any]]:
        return [c for c in self.state.comments.values() if c["_issue"] == number]


@contextmanager
def github_server() -> Iterator[GitHubServer]:
    with GitHubServer() as server:
        yield server
