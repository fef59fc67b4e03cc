"""The HTTP front end: one handler class that turns requests into store calls.

Speaks HTTP/1.1 with keep-alive like the apiserver, negotiates ``Table`` and aggregated
discovery from the ``Accept`` header, and streams watches as newline-delimited JSON with
chunked transfer encoding - one thread per watch, woken by the store's condition variable,
with periodic BOOKMARK events and ``timeoutSeconds`` honoured.
"""

from __future__ import annotations

import contextlib
import json
import logging
import select
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import yaml

from albctl.sandbox import discovery, openapi, protobuf, tables
from albctl.sandbox.admission import Caller, user_info
from albctl.sandbox.errors import ApiError, bad_request, method_not_allowed, path_not_found
from albctl.sandbox.registry import Registry
from albctl.sandbox.routes import DocRoute, ResourceRoute, resolve
from albctl.sandbox.selectors import (
    FieldSelector,
    FieldTerm,
    LabelSelector,
    parse_field_selector,
    parse_label_selector,
)
from albctl.sandbox.store import APPLY_PATCH, MERGE_PATCH, Store, Watch, WatchEvent

log = logging.getLogger(__name__)

Obj = dict[str, Any]

DEFAULT_WATCH_TIMEOUT = 1800.0
_POLL = 0.25  # how often an idle watch checks whether its client went away


@dataclass
class Backend:
    """What request handlers need from the running sandbox."""

    store: Store
    registry: Registry
    bookmark_interval: float = 1.0
    serve_openapi: bool = True
    # (user agent, method, path with query) of every request, for tests of client permissions
    audit: list[tuple[str, str, str]] = field(default_factory=list)
    # (plural, verb, namespace or None for every namespace) refused with 403, for tests of
    # a revoked permission (SandboxServer.deny)
    denied: set[tuple[str, str, str | None]] = field(default_factory=set)


class SandboxHTTPServer(ThreadingHTTPServer):
    """Threaded server that remembers its open connections so that stop() can cut them."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], backend: Backend) -> None:
        self.backend = backend
        self._connections: set[socket.socket] = set()
        super().__init__(address, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        for conn in list(self._connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def _media_ranges(accept: str) -> list[tuple[str, dict[str, str]]]:
    out: list[tuple[str, dict[str, str]]] = []
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        params: dict[str, str] = {}
        for piece in pieces[1:]:
            key, _, value = piece.partition("=")
            params[key.strip()] = value.strip()
        out.append((pieces[0].lower(), params))
    return out


def _wants(accept: str, as_kind: str, group: str, versions: tuple[str, ...]) -> str | None:
    """The version of ``as_kind`` the client asked for first, if it asked for one."""
    for media, params in _media_ranges(accept):
        if media not in ("application/json", "*/*"):
            continue
        if params.get("as") == as_kind and params.get("g") == group and params.get("v") in versions:
            return params["v"]
        if not params.get("as"):
            return None
    return None


def _partial(obj: Obj, version: str) -> Obj:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": obj.get("metadata", {}),
    }


def _flag(query: dict[str, str], key: str) -> bool:
    return query.get(key, "").lower() in ("1", "true")


# the options object admission webhooks are sent: a PATCH is admitted as an UPDATE with
# UpdateOptions (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go
# ``patchToUpdateOptions``; an apply that creates gets ``patchToCreateOptions``)
_OPTIONS_KINDS = {
    "POST": "CreateOptions",
    "PUT": "UpdateOptions",
    "PATCH": "UpdateOptions",
    "DELETE": "DeleteOptions",
}


def warning_header(text: str) -> str:
    """An RFC 7234 ``Warning`` value as the apiserver writes it (kubectl prints ``text``)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\r", " ").replace("\n", " ")  # one header line
    return f'299 - "{escaped}"'.encode("latin-1", "replace").decode("latin-1")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "albctl-sandbox"
    disable_nagle_algorithm = True  # else small header/body writes wait on delayed ACKs (40 ms)
    warnings: list[str]  # admission warnings of the request being served

    # --- plumbing -----------------------------------------------------------------------------

    @property
    def backend(self) -> Backend:
        return cast(SandboxHTTPServer, self.server).backend

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def _query(self) -> dict[str, str]:
        raw = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
        return {k: v[-1] for k, v in raw.items()}

    def _send_json(self, code: int, body: Any, content_type: str = "application/json") -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        for text in dict.fromkeys(getattr(self, "warnings", [])):
            self.send_header("Warning", warning_header(text))
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, err: ApiError) -> None:
        self._send_json(err.code, err.status())

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _content_type(self) -> str:
        return self.headers.get("Content-Type", "application/json").split(";")[0].strip().lower()

    def _parse_body(self, raw: bytes, content_type: str) -> Any:
        if not raw:
            return None
        if content_type == protobuf.MEDIA_TYPE:
            return protobuf.decode(raw)
        try:
            if "yaml" in content_type:
                return yaml.safe_load(raw)
            return json.loads(raw)
        except (ValueError, yaml.YAMLError) as err:
            raise bad_request(f"the body of the request could not be decoded: {err}") from None

    def _dispatch(self, method: str) -> None:
        self.backend.audit.append((self.headers.get("User-Agent", ""), method, self.path))
        self.warnings = []
        try:
            body = self._read_body() if method in ("POST", "PUT", "PATCH", "DELETE") else b""
            route = resolve(self.backend.registry, self.path)
            if isinstance(route, DocRoute):
                if method != "GET":
                    raise method_not_allowed()
                self._serve_doc(route)
            else:
                self._serve_resource(method, route, body)
        except ApiError as err:
            self._send_error(err)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as err:
            log.exception("sandbox request %s %s failed", method, self.path)
            self._send_error(ApiError(500, "InternalError", f"Internal error occurred: {err}"))

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # --- documents ----------------------------------------------------------------------------

    def _serve_doc(self, route: DocRoute) -> None:
        registry = self.backend.registry
        accept = self.headers.get("Accept", "")
        aggregated = _wants(accept, "APIGroupDiscoveryList", "apidiscovery.k8s.io", ("v2",))
        doc: Any = None
        if route.doc == "root":
            doc = {"paths": ["/api", "/api/v1", "/apis", "/openapi/v3", "/version", "/healthz"]}
        elif route.doc == "version":
            doc = discovery.version_info()
        elif route.doc == "health":
            data = b"ok"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        elif route.doc in ("api", "apis") and aggregated:
            doc = discovery.aggregated(registry, legacy=route.doc == "api")
            self._send_json(200, doc, discovery.AGGREGATED_V2)
            return
        elif route.doc == "api":
            host, port = self.connection.getsockname()[:2]
            doc = discovery.api_versions(f"{host}:{port}")
        elif route.doc == "apis":
            doc = discovery.api_group_list(registry)
        elif route.doc == "group":
            doc = discovery.api_group(registry, route.group)
        elif route.doc == "resources":
            doc = discovery.api_resource_list(registry, route.group, route.version)
        elif route.doc == "openapi-index" and self.backend.serve_openapi:
            doc = openapi.index(registry)
        elif route.doc == "openapi" and self.backend.serve_openapi:
            doc = openapi.document(registry, route.group, route.version)
        if doc is None:
            raise path_not_found()
        self._send_json(200, doc)

    # --- resources ----------------------------------------------------------------------------

    def _selectors(
        self, route: ResourceRoute, query: dict[str, str]
    ) -> tuple[LabelSelector, FieldSelector]:
        labels = parse_label_selector(query.get("labelSelector"))
        fields = parse_field_selector(query.get("fieldSelector"), route.rt.field_labels)
        return labels, fields

    def _dry_run(self, query: dict[str, str]) -> bool:
        value = query.get("dryRun")
        if value is None:
            return False
        if value != "All":
            raise bad_request(f'dryRun: Unsupported value: "{value}": supported values: "All"')
        return True

    def _caller(self, method: str, query: dict[str, str], dry_run: bool) -> Caller:
        """Who asks, with which options (as admission webhooks are told); collects warnings."""
        options: Obj = {"kind": _OPTIONS_KINDS[method], "apiVersion": "meta.k8s.io/v1"}
        if dry_run:
            options["dryRun"] = ["All"]
        if query.get("fieldManager"):
            options["fieldManager"] = query["fieldManager"]
        user = user_info(self.headers.get("Authorization"))
        return Caller(user=user, options=options, warnings=self.warnings)

    def _table_version(self) -> str | None:
        return _wants(self.headers.get("Accept", ""), "Table", "meta.k8s.io", ("v1", "v1beta1"))

    def _metadata_version(self, as_kind: str = "PartialObjectMetadata") -> str | None:
        """Set when the client asked for metadata only (metadata informers do)."""
        return _wants(self.headers.get("Accept", ""), as_kind, "meta.k8s.io", ("v1", "v1beta1"))

    def _send_object(self, code: int, route: ResourceRoute, obj: Obj) -> None:
        version = self._table_version() if self.command == "GET" else None
        meta_version = self._metadata_version()
        if meta_version:
            self._send_json(code, _partial(obj, meta_version))
        elif version:
            include = self._query().get("includeObject", "Metadata")
            self._send_json(
                code,
                tables.table(route.rt, [obj], include, api_version=f"meta.k8s.io/{version}"),
                f"application/json;as=Table;v={version};g=meta.k8s.io",
            )
        else:
            self._send_json(code, obj)

    def _serve_resource(self, method: str, route: ResourceRoute, raw: bytes) -> None:
        store = self.backend.store
        rt = route.rt
        query = self._query()
        ns = route.namespace
        if method == "GET":
            verb = (
                "watch"
                if route.watch or _flag(query, "watch")
                else ("get" if route.name is not None else "list")
            )
            self._check_denied(route, verb)
            if verb == "watch":
                self._serve_watch(route, query)
            elif route.name is not None:
                self._send_object(200, route, store.get(rt, ns, route.name))
            else:
                self._serve_list(route, query)
            return
        dry_run = self._dry_run(query)
        content_type = self._content_type()
        body = self._parse_body(raw, content_type)
        caller = self._caller(method, query, dry_run) if method in _OPTIONS_KINDS else None
        if method == "POST":
            if route.name is not None or (rt.namespaced and ns is None):
                raise method_not_allowed()
            created = store.create(rt, ns, body, dry_run, caller)
            self._send_json(201, created)
        elif method == "PUT":
            if route.name is None:
                raise method_not_allowed()
            self._send_json(
                200, store.update(rt, ns, route.name, body, route.subresource, dry_run, caller)
            )
        elif method == "PATCH":
            if route.name is None:
                raise method_not_allowed()
            if content_type == APPLY_PATCH:
                self._serve_apply(route, body, dry_run, caller)
                return
            patched = store.patch(
                rt, ns, route.name, content_type, body, route.subresource, dry_run, caller
            )
            self._send_json(200, patched)
        elif method == "DELETE":
            if route.subresource is not None:
                raise method_not_allowed()
            options = dict(body) if isinstance(body, dict) else {}
            # DeleteOptions may come as query parameters too (the Python client sends them so)
            if "propagationPolicy" in query:
                options["propagationPolicy"] = query["propagationPolicy"]
            if "orphanDependents" in query:
                options["orphanDependents"] = _flag(query, "orphanDependents")
            if route.name is None:
                labels, fields = self._selectors(route, query)
                result = store.delete_collection(rt, ns, labels, fields, dry_run, caller)
                self._send_json(200, self._list_body(route, result.items, result.resource_version))
                return
            if caller is not None:
                given = {k: v for k, v in options.items() if k not in ("kind", "apiVersion")}
                caller.options = {**(caller.options or {}), **given}
            obj, gone = store.delete(rt, ns, route.name, options, dry_run, caller)
            if gone and not rt.custom and rt.kind not in ("Pod", "Namespace"):
                status = {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": {
                        "name": route.name,
                        "group": rt.group,
                        "kind": rt.plural,
                        "uid": obj["metadata"].get("uid"),
                    },
                }
                self._send_json(200, status)
            else:
                self._send_json(200, obj)
        else:
            raise method_not_allowed()

    def _check_denied(self, route: ResourceRoute, verb: str) -> None:
        denied = self.backend.denied
        rt, ns = route.rt, route.namespace
        if (rt.plural, verb, None) in denied or (ns and (rt.plural, verb, ns) in denied):
            what = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
            where = f'in the namespace "{ns}"' if ns else "at the cluster scope"
            raise ApiError(
                403,
                "Forbidden",
                f'{what} is forbidden: User "sandbox-user" cannot {verb} resource '
                f'"{rt.plural}" in API group "{rt.group}" {where}',
                {"kind": rt.plural, "group": rt.group},
            )

    def _serve_apply(
        self, route: ResourceRoute, body: Any, dry_run: bool, caller: Caller | None
    ) -> None:
        """Server-side apply, approximated: create if missing, else a merge patch."""
        store = self.backend.store
        assert route.name is not None
        if not isinstance(body, dict):
            raise bad_request("an apply patch must be an object")
        try:
            store.get(route.rt, route.namespace, route.name)
        except ApiError as err:
            if err.code != 404 or route.subresource is not None:
                raise
            body.setdefault("metadata", {}).setdefault("name", route.name)
            if caller is not None and caller.options is not None:
                caller.options = {**caller.options, "kind": "CreateOptions"}
            self._send_json(201, store.create(route.rt, route.namespace, body, dry_run, caller))
            return
        patched = store.patch(
            route.rt,
            route.namespace,
            route.name,
            MERGE_PATCH,
            body,
            route.subresource,
            dry_run,
            caller,
        )
        self._send_json(200, patched)

    def _list_body(self, route: ResourceRoute, items: list[Obj], rv: str) -> Obj:
        rt = route.rt
        if not rt.custom:
            items = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in items]
        return {
            "kind": rt.list_kind,
            "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": rv},
            "items": items,
        }

    def _serve_list(self, route: ResourceRoute, query: dict[str, str]) -> None:
        labels, fields = self._selectors(route, query)
        try:
            limit = int(query.get("limit") or 0)
        except ValueError:
            raise bad_request(f"limit: Invalid value: {query.get('limit')!r}") from None
        result = self.backend.store.list_objects(
            route.rt, route.namespace, labels, fields, limit, query.get("continue", "")
        )
        version = self._table_version()
        if version:
            body = tables.table(
                route.rt,
                result.items,
                query.get("includeObject", "Metadata"),
                result.resource_version,
                result.continue_token,
                f"meta.k8s.io/{version}",
            )
            self._send_json(200, body, f"application/json;as=Table;v={version};g=meta.k8s.io")
            return
        body = self._list_body(route, result.items, result.resource_version)
        meta_version = self._metadata_version("PartialObjectMetadataList")
        if meta_version:
            body["kind"] = "PartialObjectMetadataList"
            body["apiVersion"] = f"meta.k8s.io/{meta_version}"
            body["items"] = [_partial(o, meta_version) for o in result.items]
        if result.continue_token:
            body["metadata"]["continue"] = result.continue_token
            body["metadata"]["remainingItemCount"] = result.remaining
        self._send_json(200, body)

    # --- watch --------------------------------------------------------------------------------

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _write_event(self, event_type: str, obj: Obj) -> None:
        line = json.dumps({"type": event_type, "object": obj}, separators=(",", ":"))
        self._write_chunk(line.encode() + b"\n")

    def _client_gone(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return bool(self.connection.recv(1, socket.MSG_PEEK) == b"")
        except (OSError, ValueError):
            return True

    def _serve_watch(self, route: ResourceRoute, query: dict[str, str]) -> None:
        backend = self.backend
        rt = route.rt
        labels, fields = self._selectors(route, query)
        if route.name is not None:  # a watch on one object's path
            fields = FieldSelector((*fields.terms, FieldTerm("metadata.name", True, route.name)))
        try:
            timeout = float(query.get("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT)
        except ValueError:
            raise bad_request("timeoutSeconds must be a number") from None
        bookmarks = _flag(query, "allowWatchBookmarks")
        send_initial = _flag(query, "sendInitialEvents")
        table_version = self._table_version()
        meta_version = self._metadata_version()
        include = query.get("includeObject", "Metadata")
        watch: Watch | None = None
        gone: ApiError | None = None
        try:
            watch = backend.store.watch(
                rt, route.namespace, labels, fields, query.get("resourceVersion"), send_initial
            )
        except ApiError as err:
            if err.code != 410:
                raise
            gone = err
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.end_headers()
        self.close_connection = True

        def emit(event: WatchEvent) -> None:
            obj = event.object
            if meta_version:
                obj = _partial(obj, meta_version)
            elif table_version:
                obj = tables.table(rt, [obj], include, api_version=f"meta.k8s.io/{table_version}")
            self._write_event(event.type, obj)

        def bookmark(rv: int, initial_end: bool) -> None:
            meta: Obj = {"resourceVersion": str(rv)}
            if initial_end:
                meta["annotations"] = {"k8s.io/initial-events-end": "true"}
            self._write_event(
                "BOOKMARK", {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta}
            )

        try:
            if gone is not None or watch is None:
                self._write_event("ERROR", (gone or path_not_found()).status())
            else:
                self._watch_loop(watch, emit, bookmark, bookmarks, send_initial, timeout)
            self._write_chunk(b"")
        except OSError:
            return
        except Exception:
            # the response has started: nothing left to do but drop the connection
            log.exception("sandbox watch %s failed", self.path)

    def _watch_loop(
        self,
        watch: Watch,
        emit: Callable[[WatchEvent], None],
        bookmark: Callable[[int, bool], None],
        bookmarks: bool,
        send_initial: bool,
        timeout: float,
    ) -> None:
        interval = self.backend.bookmark_interval
        deadline = time.monotonic() + timeout
        last_bookmark = time.monotonic()
        first = True
        while True:
            now = time.monotonic()
            if now >= deadline or self._client_gone():
                return
            wait = 0.0 if first else min(_POLL, deadline - now)
            if bookmarks:
                wait = min(wait, max(0.0, last_bookmark + interval - now))
            try:
                events = watch.next(wait)
            except ApiError as err:
                self._write_event("ERROR", err.status())
                return
            if events is None:
                return
            for event in events:
                emit(event)
            if first and send_initial and bookmarks:
                bookmark(watch.cursor, True)
                last_bookmark = time.monotonic()
            first = False
            if bookmarks and time.monotonic() - last_bookmark >= interval:
                bookmark(watch.cursor, False)
                last_bookmark = time.monotonic()
