"""Build the desired state of one IngressGroup (pure).

Each member Ingress is built on its own first (annotations, listeners, rules, target groups).
Members are then merged in group order; a member whose own input is invalid, or that conflicts
with an earlier member on a group-wide setting, is left out and reported, and the others
still build. The caller keeps what a left-out member already has in AWS.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from albctl.errors import InvalidInputError, MissingObjectError, QuotaExceededError
from albctl.model.actions import ArnRef, ParsedAction, ServiceRef, parse_action, parse_conditions
from albctl.model.annotations import Annotations
from albctl.model.certificates import (
    FINGERPRINT_TAG,
    CertInput,
    MemberCertificates,
    member_certificates,
)
from albctl.model.desired import (
    BACKEND_SG_ID,
    LB_ID,
    MANAGED_SG_ID,
    Action,
    Condition,
    FixedResponseConfig,
    ForwardTarget,
    HealthCheck,
    Listener,
    LoadBalancer,
    RedirectConfig,
    Rule,
    SecurityGroup,
    SecurityGroupRule,
    Stack,
    Target,
    TargetGroup,
)
from albctl.model.endpoints import endpoint_is_target, is_gated
from albctl.model.groups import Group, Member
from albctl.model.inventory import Inventory
from albctl.model.names import (
    load_balancer_name,
    security_group_name,
    target_group_name,
    valid_lb_name,
)
from albctl.model.objects import (
    Endpoint,
    EndpointSlice,
    HTTPIngressPath,
    Ingress,
    IngressBackend,
    Node,
    Secret,
    Service,
    ServicePort,
)
from albctl.model.settings import BuildSettings
from albctl.model.subnets import SubnetError, discover, resolve
from albctl.model.tags import CLUSTER_TAG, INGRESS_TAG, RESOURCE_TAG, STACK_TAG
from albctl.model.tls import ImportedCertificate, TLSMaterial

# ALB quotas (AWS defaults)
MAX_RULES_PER_LISTENER = 100
MAX_CONDITION_VALUES_PER_RULE = 5
# what an ALB rule condition accepts (AWS refuses the rule otherwise, and with it the rest
# of the group's changes): hosts and path patterns up to 128 of these characters; header
# and query-string values up to 128 characters, no control characters
_HOST_VALUE = re.compile(r"[A-Za-z0-9.*?-]{1,128}")
_PATH_VALUE = re.compile(r"[A-Za-z0-9_\-.$/~\"'@:+&*?]{1,128}")
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,40}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_CERTS_PER_LISTENER = 25
MAX_TARGETS_PER_TG = 1000
MAX_LISTENERS = 50
MAX_TAGS = 50

ANN = "alb.ingress.kubernetes.io/"
USE_ANNOTATION = "use-annotation"
EXCLUDE_NODE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"


@dataclass(frozen=True)
class GroupInput:
    group: Group
    services: Mapping[str, Service]
    endpoint_slices: Sequence[EndpointSlice]
    nodes: Sequence[Node]
    inventory: Inventory
    settings: BuildSettings
    _: KW_ONLY
    secrets: Mapping[str, Secret] = field(default_factory=dict)  # ns/name -> TLS Secret
    now: datetime.datetime | None = None  # for certificate validity; None: no import
    # pod key -> target group names of its albctl readiness gates (see model.readiness)
    pod_gates: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass
class BuildResult:
    group_id: str
    stack: Stack | None
    active: list[str] = field(default_factory=list)
    invalid: dict[str, InvalidInputError] = field(default_factory=dict)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    group_error: InvalidInputError | None = None
    # TLS Secrets that cannot be served (the members still deploy), and the key material of
    # those that can, by certificate id (never serialised)
    secret_errors: list[InvalidInputError] = field(default_factory=list)
    materials: dict[str, TLSMaterial] = field(default_factory=dict)


@dataclass
class _MemberBuild:
    key: str
    obj: str
    exclusive: dict[str, Any]
    lb_attributes: dict[str, str]
    tags: dict[str, str]
    ports: dict[int, str]
    inbound_cidrs: list[str] | None
    prefix_lists: list[str] | None
    explicit_certs: list[str] | None
    ssl_policy: str | None
    hosts: list[str]
    tls: list[tuple[int, str, tuple[str, ...]]]  # (index, secretName, hosts) of spec.tls
    default_action: Action | None
    rules: list[tuple[str, tuple[Condition, ...], Action]]  # (rule key, conditions, action)
    target_groups: dict[str, TargetGroup]
    warnings: list[tuple[str, str]] = field(default_factory=list)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _stable_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


# --- paths and conditions --------------------------------------------------------------------


def _path_condition(
    obj: str, where: str, p: HTTPIngressPath, regex: bool
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(values, regexValues) of the path-pattern condition of one path."""
    if regex and p.path_type == "ImplementationSpecific" and p.path:
        # the path starts with "/" as Kubernetes requires; the regex is what follows it
        return (), (p.path[1:],)
    return _path_values(obj, where, p), ()


def _path_values(obj: str, where: str, p: HTTPIngressPath) -> tuple[str, ...]:
    path = p.path
    if not path:
        return ()
    if p.path_type in ("Exact", "Prefix") and ("*" in path or "?" in path):
        raise InvalidInputError(
            obj, f"{where}.path", f"{path!r}: wildcards are not allowed with pathType {p.path_type}"
        )
    if p.path_type == "Exact":
        return (path,)
    if p.path_type == "Prefix":
        if path == "/":
            return ("/*",)
        trimmed = path.rstrip("/")
        return (trimmed, trimmed + "/*")
    if p.path_type != "ImplementationSpecific":
        raise InvalidInputError(obj, f"{where}.pathType", f"unknown pathType {p.path_type!r}")
    return (path,)


def _ordered_paths(paths: Sequence[HTTPIngressPath]) -> list[tuple[int, HTTPIngressPath]]:
    exact = [(i, p) for i, p in enumerate(paths) if p.path_type == "Exact"]
    prefix = [(i, p) for i, p in enumerate(paths) if p.path_type == "Prefix"]
    prefix.sort(key=lambda ip: -len(ip[1].path))
    other = [(i, p) for i, p in enumerate(paths) if p.path_type not in ("Exact", "Prefix")]
    return exact + prefix + other


def _merge_conditions(
    obj: str,
    where: str,
    host: str,
    path_values: tuple[str, ...],
    extra: list[Condition],
    path_regex_values: tuple[str, ...] = (),
) -> tuple[Condition, ...]:
    host_values = [host] if host else []
    host_regex: list[str] = []
    path_vals = list(path_values)
    path_regex: list[str] = list(path_regex_values)
    others: list[Condition] = []
    seen_single: set[str] = set()
    for c in extra:
        if c.field == "host-header":
            host_values += c.values
            host_regex += c.regex_values
        elif c.field == "path-pattern":
            path_vals += c.values
            path_regex += c.regex_values
        else:
            if c.field in ("http-request-method", "source-ip"):
                if c.field in seen_single:
                    raise InvalidInputError(obj, where, f"at most one {c.field} condition per rule")
                seen_single.add(c.field)
            others.append(c)
    _check_values(obj, where, host_values, path_vals, host_regex + path_regex, others)
    if host_values and host_regex:
        raise InvalidInputError(obj, where, "host-header mixes values and regexValues")
    if path_vals and path_regex:
        raise InvalidInputError(obj, where, "path-pattern mixes values and regexValues")
    out: list[Condition] = []
    if host_values or host_regex:
        out.append(
            Condition(
                field="host-header",
                values=tuple(dict.fromkeys(host_values)),
                regex_values=tuple(host_regex),
            )
        )
    if path_vals or path_regex:
        out.append(
            Condition(
                field="path-pattern",
                values=tuple(dict.fromkeys(path_vals)),
                regex_values=tuple(path_regex),
            )
        )
    out += others
    if not out:
        out.append(Condition(field="path-pattern", values=("/*",)))
    total = sum(c.value_count for c in out)
    if total > MAX_CONDITION_VALUES_PER_RULE:
        raise QuotaExceededError(
            obj,
            where,
            f"rule has {total} condition values; an ALB rule allows "
            f"{MAX_CONDITION_VALUES_PER_RULE}",
        )
    return tuple(out)


def _check_values(
    obj: str,
    where: str,
    hosts: list[str],
    paths: list[str],
    regexes: list[str],
    others: list[Condition],
) -> None:
    """Condition values an ALB rule accepts, else an error naming the rule."""
    for h in hosts:
        if not _HOST_VALUE.fullmatch(h):
            raise InvalidInputError(
                obj,
                where,
                f"host {h[:80]!r}: an ALB host condition is up to 128 of A-Z a-z 0-9 - . * ? "
                "(internationalized names in punycode)",
            )
    for p in paths:
        if not _PATH_VALUE.fullmatch(p):
            raise InvalidInputError(
                obj,
                where,
                f"path {p[:80]!r}: an ALB path condition is up to 128 of A-Z a-z 0-9 "
                "_ - . $ / ~ \" ' @ : + & * ?",
            )
    texts = list(regexes)
    for c in others:
        texts += list(c.values) + list(c.regex_values)
        for q in c.query_values:
            texts += [q.value] + ([q.key] if q.key is not None else [])
        if c.http_header_name is not None and not _HEADER_NAME.fullmatch(c.http_header_name):
            raise InvalidInputError(
                obj, where, f"header name {c.http_header_name[:80]!r}: up to 40 token characters"
            )
    for t in texts:
        if len(t) > 128 or not t or _CONTROL.search(t):
            raise InvalidInputError(
                obj,
                where,
                f"condition value {t[:80]!r}: 1 to 128 characters, no control characters",
            )


# --- target groups ---------------------------------------------------------------------------


class _MemberBuilder:
    def __init__(self, member: Member, inp: GroupInput) -> None:
        self.member = member
        self.inp = inp
        self.ing: Ingress = member.ingress
        self.ns = self.ing.metadata.namespace
        self.obj = f"Ingress/{self.ing.key}"
        self.ann = Annotations(self.obj, self.ing.metadata.annotations)
        self.params = member.params
        self.target_groups: dict[str, TargetGroup] = {}
        self.actions_cache: dict[str, ParsedAction] = {}

    # services
    def _service(self, name: str, where: str) -> Service:
        svc = self.inp.services.get(f"{self.ns}/{name}")
        if svc is None:
            raise MissingObjectError(self.obj, where, f"Service {self.ns}/{name} not found")
        return svc

    def _service_port(self, svc: Service, port: int | str, where: str) -> ServicePort:
        for sp in svc.spec.ports:
            if (isinstance(port, int) and sp.port == port) or (
                isinstance(port, str) and sp.name == port
            ):
                return sp
        raise InvalidInputError(self.obj, where, f"Service {svc.key} has no port {port!r}")

    def _member_tags(self) -> dict[str, str]:
        tags = self.ann.string_map("tags") or {}
        _check_user_tags(self.obj, tags)
        if self.params:
            from_params = {t.key: t.value for t in self.params.spec.tags}
            _check_user_tags(self._params_obj(), from_params, "spec.tags")
            tags.update(from_params)
        return tags

    def _params_obj(self) -> str:
        assert self.params is not None
        return f"IngressClassParams/{self.params.metadata.name}"

    def _error(
        self, from_params: bool, annotation: str, spec_field: str, message: str
    ) -> InvalidInputError:
        """An error about a value that came from the IngressClassParams (named by its spec
        field) or from an annotation of the Ingress."""
        if from_params and self.params is not None:
            return InvalidInputError(self._params_obj(), f"spec.{spec_field}", message)
        return self.ann.error(self.obj, annotation, message)

    def target_group(self, svc_name: str, port: int | str, where: str) -> str:
        svc = self._service(svc_name, where)
        sp = self._service_port(svc, port, where)
        sobj = f"Service/{svc.key}"
        ann = self.ann.with_service(sobj, svc.metadata.annotations)
        target_type = ann.choice("target-type", ("instance", "ip"), service_override=True)
        if self.params and self.params.spec.target_type:
            target_type = self.params.spec.target_type
        target_type = target_type or self.inp.settings.default_target_type
        protocol = (
            ann.choice("backend-protocol", ("HTTP", "HTTPS"), service_override=True) or "HTTP"
        )
        version = (
            ann.choice(
                "backend-protocol-version", ("HTTP1", "HTTP2", "GRPC"), service_override=True
            )
            or "HTTP1"
        )
        targets: list[Target]
        if target_type == "instance":
            if sp.node_port is None:
                raise InvalidInputError(
                    sobj,
                    f"spec.ports[{sp.name or sp.port}].nodePort",
                    "target-type instance needs a Service of type NodePort or LoadBalancer "
                    "(or set alb.ingress.kubernetes.io/target-type: ip)",
                )
            tg_port = sp.node_port
            selector = ann.string_map("target-node-labels", service_override=True) or {}
            targets = [
                Target(id=iid, port=tg_port)
                for n in self.inp.nodes
                if n.ready
                and not n.spec.unschedulable
                and EXCLUDE_NODE_LABEL not in n.metadata.labels
                and all(n.metadata.labels.get(k) == v for k, v in selector.items())
                and (iid := n.instance_id) is not None
            ]
            waiting: list[tuple[Target, Endpoint]] = []
        else:
            tg_port, targets, waiting = self._ip_targets(svc, sp)
        ip_type = "ipv6" if svc.spec.ip_families[:1] == ("IPv6",) else "ipv4"
        hc = self._health_check(ann, svc, sp, target_type, protocol, version)
        attrs = ann.string_map("target-group-attributes", service_override=True) or {}
        tags = self._member_tags()
        tags.update(_service_tags(sobj, svc))
        ref = str(sp.port)
        tg_id = f"{self.ing.key}-{svc_name}:{ref}"
        identity = (
            self.inp.settings.cluster_name,
            self.inp.group.id,
            self.ing.key,
            svc.metadata.uid or svc.key,
            ref,
            str(tg_port),
            target_type,
            protocol,
            version,
            ip_type,
        )
        name = target_group_name(self.ns, svc_name, *identity)
        # endpoints of pods that wait on albctl's readiness gate for this target group
        targets += [t for t, ep in waiting if is_gated(ep, self.ns, name, self.inp.pod_gates)]
        targets = sorted(set(targets), key=lambda t: (t.id, t.port))
        if len(targets) > MAX_TARGETS_PER_TG:
            raise QuotaExceededError(
                sobj,
                "targets",
                f"{len(targets)} targets; a target group allows {MAX_TARGETS_PER_TG}",
            )
        tg = TargetGroup(
            id=tg_id,
            name=name,
            ingress=self.ing.key,
            service=f"{svc.key}:{ref}",
            port=tg_port,
            protocol=protocol,
            protocol_version=version,
            target_type=target_type,
            ip_address_type=ip_type,
            health_check=hc,
            attributes=attrs,
            tags=tags,
            targets=tuple(targets),
        )
        self.target_groups[tg_id] = tg
        return tg_id

    def _ip_targets(
        self, svc: Service, sp: ServicePort
    ) -> tuple[int, list[Target], list[tuple[Target, Endpoint]]]:
        """(target group port, targets, serving endpoints that are targets only if their pod
        has the readiness gate of this target group)."""
        slices = [
            s
            for s in self.inp.endpoint_slices
            if s.metadata.namespace == self.ns and s.service_name == svc.metadata.name
        ]
        tg_port = sp.target_port if isinstance(sp.target_port, int) else None
        if sp.target_port is None:
            tg_port = sp.port
        targets: list[Target] = []
        waiting: list[tuple[Target, Endpoint]] = []
        for s in slices:
            if s.address_type not in ("IPv4", "IPv6"):
                continue  # FQDN slices name no IP target
            ports = [
                p
                for p in (s.ports or ())
                if p.name == sp.name or (sp.name is None and p.name in (None, ""))
            ]
            if not ports or ports[0].port is None or not 0 < ports[0].port < 65536:
                continue
            eport = ports[0].port
            if tg_port is None:
                tg_port = eport
            for ep in s.endpoints:
                if endpoint_is_target(ep, gated=False):
                    # only addresses AWS can register (a slice written otherwise must not fail the group)
                    targets += [Target(id=a, port=eport) for a in ep.addresses if _is_ip(a)]
                elif endpoint_is_target(ep, gated=True):
                    waiting += [(Target(id=a, port=eport), ep) for a in ep.addresses if _is_ip(a)]
        return (tg_port or 1), targets, waiting

    def _health_check(
        self,
        ann: Annotations,
        svc: Service,
        sp: ServicePort,
        target_type: str,
        protocol: str,
        version: str,
    ) -> HealthCheck:
        port = ann.string("healthcheck-port", service_override=True) or "traffic-port"
        if port != "traffic-port" and not port.isdigit():
            named = next((p for p in svc.spec.ports if p.name == port), None)
            if named is None:
                raise ann.error(
                    ann.obj, "healthcheck-port", f"Service {svc.key} has no port named {port!r}"
                )
            if target_type == "instance":
                if named.node_port is None:
                    raise ann.error(ann.obj, "healthcheck-port", f"port {port!r} has no nodePort")
                port = str(named.node_port)
            else:
                if not isinstance(named.target_port, int):
                    raise ann.error(
                        ann.obj, "healthcheck-port", f"port {port!r} has a named targetPort"
                    )
                port = str(named.target_port)
        elif port.isdigit() and not 1 <= int(port) <= 65535:
            raise ann.error(ann.obj, "healthcheck-port", f"{port} is not a port number")
        hc_protocol = (
            ann.choice("healthcheck-protocol", ("HTTP", "HTTPS"), service_override=True) or protocol
        )
        grpc = version == "GRPC"
        path = ann.string("healthcheck-path", service_override=True) or (
            "/AWS.ALB/healthcheck" if grpc else "/"
        )
        interval = ann.integer("healthcheck-interval-seconds", True, 5, 300) or 15
        timeout = ann.integer("healthcheck-timeout-seconds", True, 2, 120) or 5
        if timeout >= interval:
            raise ann.error(
                ann.obj,
                "healthcheck-timeout-seconds",
                f"timeout {timeout}s must be shorter than the interval {interval}s",
            )
        healthy = ann.integer("healthy-threshold-count", True, 2, 10) or 2
        unhealthy = ann.integer("unhealthy-threshold-count", True, 2, 10) or 2
        codes = ann.string("success-codes", service_override=True) or ("12" if grpc else "200")
        _check_codes(ann, codes, grpc)
        return HealthCheck(
            protocol=hc_protocol,
            port=port,
            path=path,
            interval_seconds=interval,
            timeout_seconds=timeout,
            healthy_threshold=healthy,
            unhealthy_threshold=unhealthy,
            http_code=None if grpc else codes,
            grpc_code=codes if grpc else None,
        )

    # actions
    def _parsed_action(self, name: str, where: str) -> ParsedAction:
        if name not in self.actions_cache:
            got = self.ann.json_value(f"actions.{name}")
            if got is None:
                raise InvalidInputError(
                    self.obj,
                    where,
                    f"backend uses use-annotation but annotation {ANN}actions.{name} is missing",
                )
            self.actions_cache[name] = parse_action(self.obj, name, got[1])
        return self.actions_cache[name]

    def backend_action(self, backend: IngressBackend, where: str) -> tuple[str, Action]:
        """(name used for conditions.<name>, action) for a path or default backend."""
        if backend.resource is not None or backend.service is None:
            raise InvalidInputError(self.obj, where, "only service backends are supported")
        svc = backend.service
        if svc.port.name == USE_ANNOTATION:
            parsed = self._parsed_action(svc.name, where)
            return svc.name, self._to_action(parsed, where)
        port: int | str | None = svc.port.number if svc.port.number is not None else svc.port.name
        if port is None:
            raise InvalidInputError(self.obj, f"{where}.service.port", "needs a number or a name")
        tg = self.target_group(svc.name, port, where)
        return svc.name, Action(type="forward", forward=(ForwardTarget(target_group=tg, weight=1),))

    def _to_action(self, parsed: ParsedAction, where: str) -> Action:
        if parsed.type != "forward":
            return Action(
                type=parsed.type,
                redirect=parsed.redirect,
                fixed_response=parsed.fixed_response,
            )
        fwd: list[ForwardTarget] = []
        for t in parsed.targets:
            if isinstance(t, ServiceRef):
                tg = self.target_group(t.name, t.port, where)
                fwd.append(ForwardTarget(target_group=tg, weight=t.weight))
            else:
                fwd.append(ForwardTarget(target_group=self._foreign_tg(t, where), weight=t.weight))
        return Action(
            type="forward",
            forward=tuple(fwd),
            stickiness_enabled=parsed.stickiness_enabled,
            stickiness_duration=parsed.stickiness_duration,
        )

    def _foreign_tg(self, ref: ArnRef, where: str) -> str:
        if ref.arn:
            if not ref.arn.startswith("arn:"):
                raise InvalidInputError(
                    self.obj, where, f"targetGroupARN {ref.arn!r} is not an ARN"
                )
            return ref.arn
        if not self.inp.inventory.aws_known:
            return f"arn:unknown:targetgroup/{ref.name}"
        arn = self.inp.inventory.target_groups_by_name.get(ref.name or "")
        if arn is None:
            raise InvalidInputError(self.obj, where, f"target group named {ref.name!r} not found")
        return arn

    # the whole member
    def build(self) -> _MemberBuild:
        ann, p = self.ann, self.params
        ps = p.spec if p else None
        exclusive: dict[str, Any] = {}
        scheme = ann.choice("scheme", ("internet-facing", "internal"))
        if ps and ps.scheme:
            scheme = ps.scheme
        if scheme:
            exclusive["scheme"] = scheme
        name = ann.string("load-balancer-name")
        if ps and ps.load_balancer_name:
            name = ps.load_balancer_name
        if name is not None:
            if not valid_lb_name(name):
                raise self._error(
                    bool(ps and ps.load_balancer_name),
                    "load-balancer-name",
                    "loadBalancerName",
                    f"{name!r}: expected 1-32 letters, digits or '-', not starting or ending "
                    "with '-' and not starting with 'internal-'",
                )
            exclusive["name"] = name
        ip_type = ann.choice(
            "ip-address-type", ("ipv4", "dualstack", "dualstack-without-public-ipv4")
        )
        if ps and ps.ip_address_type:
            ip_type = ps.ip_address_type
        if ip_type:
            exclusive["ip_address_type"] = ip_type
        subnets = ann.string_list("subnets")
        if ps and ps.subnets:
            if ps.subnets.ids:
                subnets = list(ps.subnets.ids)
            elif self.inp.inventory.aws_known:
                subnets = [
                    s.id
                    for s in self.inp.inventory.subnets
                    if all(s.tags.get(k) in v for k, v in ps.subnets.tags.items())
                ]
        if subnets is not None:
            exclusive["subnets"] = tuple(sorted(subnets))
        sgs = ann.string_list("security-groups")
        if sgs is not None:
            exclusive["security_groups"] = tuple(self._resolve_sgs(sgs))
        manage = ann.boolean("manage-backend-security-group-rules")
        if manage is not None:
            exclusive["manage_backend_rules"] = manage
        web_acl = self._web_acl()
        if web_acl is not None:
            exclusive["web_acl"] = web_acl
        redirect = ann.integer("ssl-redirect", minimum=1, maximum=65535)
        if ps and ps.ssl_redirect_port and ps.ssl_redirect_port.isdigit():
            redirect = int(ps.ssl_redirect_port)
        if redirect is not None:
            exclusive["ssl_redirect"] = redirect
        lb_attrs = ann.string_map("load-balancer-attributes") or {}
        if ps:
            lb_attrs.update({a.key: a.value for a in ps.load_balancer_attributes})
        tags = self._member_tags()

        certs = ann.string_list("certificate-arn")
        if ps and ps.certificate_arn:
            certs = list(ps.certificate_arn)
        for c in certs or []:
            if not c.startswith("arn:"):
                raise self._error(
                    bool(ps and ps.certificate_arn),
                    "certificate-arn",
                    "certificateArn",
                    f"{c!r} is not an ARN",
                )
        tls = [
            (i, t.secret_name, tuple(t.hosts))
            for i, t in enumerate(self.ing.spec.tls)
            if t.secret_name and self.inp.settings.import_tls_secrets
        ]
        ports = self._listen_ports(bool(certs) or bool(tls))
        if len(ports) > MAX_LISTENERS:
            raise QuotaExceededError(
                self.obj, f"annotation {ANN}listen-ports", "too many listeners"
            )
        cidrs = ann.cidrs("inbound-cidrs")
        if ps and ps.inbound_cidrs:
            cidrs = []
            for c in ps.inbound_cidrs:
                try:
                    cidrs.append(str(ipaddress.ip_network(c, strict=False)))
                except ValueError:
                    raise self._error(
                        True, "inbound-cidrs", "inboundCIDRs", f"{c!r} is not a valid CIDR"
                    ) from None
        prefix_lists = ann.string_list("security-group-prefix-lists")
        if ps and (ps.prefix_lists_ids or ps.legacy_prefix_lists_ids):
            prefix_lists = list(ps.prefix_lists_ids or ps.legacy_prefix_lists_ids or ())
        for pl in prefix_lists or []:
            if not pl.startswith("pl-"):
                raise self._error(
                    bool(ps and (ps.prefix_lists_ids or ps.legacy_prefix_lists_ids)),
                    "security-group-prefix-lists",
                    "prefixListsIDs",
                    f"{pl!r} is not a prefix list id (pl-...)",
                )
        ssl_policy = ann.string("ssl-policy")
        if ps and ps.ssl_policy:
            ssl_policy = ps.ssl_policy

        hosts: list[str] = []
        for t in self.ing.spec.tls:
            hosts += t.hosts
        hosts += [r.host for r in self.ing.spec.rules if r.host]
        hosts = list(dict.fromkeys(hosts))

        default_action = None
        if self.ing.spec.default_backend is not None:
            _, default_action = self.backend_action(
                self.ing.spec.default_backend, "spec.defaultBackend"
            )

        all_conditions = {k: v for k, v in ann.prefixed("conditions.").items()}
        use_regex = bool(ann.boolean("use-regex-path-match"))
        rules: list[tuple[str, tuple[Condition, ...], Action]] = []
        seen_keys: dict[str, int] = {}
        for ri, rule in enumerate(self.ing.spec.rules):
            if rule.http is None:
                continue
            for pi, path in _ordered_paths(rule.http.paths):
                where = f"spec.rules[{ri}].http.paths[{pi}]"
                values, regex_values = _path_condition(self.obj, where, path, use_regex)
                ref_name, action = self.backend_action(path.backend, f"{where}.backend")
                extra: list[Condition] = []
                if ref_name in all_conditions:
                    got = ann.json_value(f"conditions.{ref_name}")
                    assert got is not None
                    extra = parse_conditions(self.obj, ref_name, got[1])
                conditions = _merge_conditions(
                    self.obj, where, rule.host, values, extra, regex_values
                )
                digest = hashlib.sha256(
                    _stable_json([c.model_dump() for c in conditions]).encode()
                ).hexdigest()[:8]
                n = seen_keys.get(digest, 0)
                seen_keys[digest] = n + 1
                rkey = digest if n == 0 else f"{digest}-{n + 1}"
                rules.append((rkey, conditions, action))
        return _MemberBuild(
            key=self.ing.key,
            obj=self.obj,
            exclusive=exclusive,
            lb_attributes=lb_attrs,
            tags=tags,
            ports=ports,
            inbound_cidrs=cidrs,
            prefix_lists=prefix_lists,
            explicit_certs=certs,
            ssl_policy=ssl_policy,
            hosts=hosts,
            tls=tls,
            default_action=default_action,
            rules=rules,
            target_groups=self.target_groups,
        )

    def _web_acl(self) -> str | None:
        """WAFv2 web ACL ARN, "" for none, None when not set (a name beats an ARN)."""
        ps = self.params.spec if self.params else None
        name = (ps.wafv2_acl_name if ps else None) or self.ann.string("wafv2-acl-name")
        arn = (ps.wafv2_acl_arn if ps else None) or self.ann.string("wafv2-acl-arn")
        if name:
            if name == "none":
                return ""
            if not self.inp.inventory.aws_known:
                return f"arn:unknown:wafv2:{name}"
            found = self.inp.inventory.web_acls_by_name.get(name)
            if found is None:
                raise self._error(
                    bool(ps and ps.wafv2_acl_name),
                    "wafv2-acl-name",
                    "wafv2AclName",
                    f"no regional WAFv2 web ACL named {name!r}",
                )
            return found
        if arn:
            if arn == "none":
                return ""
            if not arn.startswith("arn:") or ":wafv2:" not in arn:
                raise self._error(
                    bool(ps and ps.wafv2_acl_arn),
                    "wafv2-acl-arn",
                    "wafv2AclArn",
                    f"{arn!r} is not a WAFv2 web ACL ARN (or none)",
                )
            return arn
        return None

    def _listen_ports(self, has_certs: bool) -> dict[int, str]:
        got = self.ann.json_value("listen-ports")
        if got is None:
            return {443: "HTTPS"} if has_certs else {80: "HTTP"}
        src, data = got
        bad = self.ann.error(
            src, "listen-ports", 'expected a JSON list like [{"HTTP": 80}, {"HTTPS": 443}]'
        )
        if not isinstance(data, list) or not data:
            raise bad
        ports: dict[int, str] = {}
        for entry in data:
            if not isinstance(entry, dict) or len(entry) != 1:
                raise bad
            ((proto, port),) = entry.items()
            if (
                proto not in ("HTTP", "HTTPS")
                or not isinstance(port, int)
                or not 1 <= port <= 65535
            ):
                raise self.ann.error(
                    src, "listen-ports", f"{entry!r}: protocol must be HTTP or HTTPS, port 1-65535"
                )
            if ports.get(port, proto) != proto:
                raise self.ann.error(src, "listen-ports", f"port {port} listed with two protocols")
            ports[port] = proto
        return ports

    def _resolve_sgs(self, names: list[str]) -> list[str]:
        inv = self.inp.inventory
        out = []
        for n in names:
            if n.startswith("sg-") or not inv.aws_known:
                out.append(n)
                continue
            match = [s.id for s in inv.security_groups if s.tags.get("Name") == n or s.name == n]
            if not match:
                raise self.ann.error(self.obj, "security-groups", f"security group {n!r} not found")
            if len(match) > 1:
                raise self.ann.error(
                    self.obj, "security-groups", f"security group name {n!r} is ambiguous"
                )
            out.append(match[0])
        return out


def _check_codes(ann: Annotations, codes: str, grpc: bool) -> None:
    limit = 99 if grpc else 599
    low = 0 if grpc else 200
    for part in codes.split(","):
        bounds = part.strip().split("-")
        if len(bounds) > 2 or not all(b.isdigit() and low <= int(b) <= limit for b in bounds):
            raise ann.error(
                ann.obj,
                "success-codes",
                f"{codes!r}: expected codes or ranges like 200,201 or 200-299"
                + (" (gRPC codes 0-99)" if grpc else ""),
            )


def _check_user_tags(
    obj: str, tags: Mapping[str, str], field: str = f"annotation {ANN}tags"
) -> None:
    for k, v in tags.items():
        if k.startswith("aws:") or k.startswith("albctl.io/"):
            raise InvalidInputError(obj, field, f"tag key {k!r} is reserved")
        if len(k) > 128 or len(v) > 256:
            raise InvalidInputError(obj, field, f"tag {k!r} is too long")


def _service_tags(sobj: str, svc: Service) -> dict[str, str]:
    ann = Annotations(sobj, svc.metadata.annotations)
    tags = ann.string_map("tags") or {}
    _check_user_tags(sobj, tags)
    return tags


# --- group assembly --------------------------------------------------------------------------


def _conflict(
    member: _MemberBuild, what: str, value: Any, first: str, first_value: Any
) -> InvalidInputError:
    return InvalidInputError(
        member.obj,
        what,
        f"{value!r} conflicts with {first_value!r} set by Ingress/{first} earlier in the group",
    )


_EXCLUSIVE_FIELDS = {
    "scheme": f"annotation {ANN}scheme",
    "name": f"annotation {ANN}load-balancer-name",
    "ip_address_type": f"annotation {ANN}ip-address-type",
    "subnets": f"annotation {ANN}subnets",
    "security_groups": f"annotation {ANN}security-groups",
    "ssl_redirect": f"annotation {ANN}ssl-redirect",
    "web_acl": f"annotation {ANN}wafv2-acl-arn",
    "manage_backend_rules": f"annotation {ANN}manage-backend-security-group-rules",
}


@dataclass
class _GroupState:
    exclusive: dict[str, tuple[Any, str]] = field(default_factory=dict)
    lb_attributes: dict[str, tuple[str, str]] = field(default_factory=dict)
    tags: dict[str, tuple[str, str]] = field(default_factory=dict)
    ports: dict[int, tuple[str, str]] = field(default_factory=dict)
    cidrs: dict[int, tuple[list[str], str]] = field(default_factory=dict)
    prefix_lists: dict[int, tuple[list[str], str]] = field(default_factory=dict)
    ssl_policy: dict[int, tuple[str, str]] = field(default_factory=dict)
    defaults: dict[int, tuple[Action, str]] = field(default_factory=dict)
    members: list[_MemberBuild] = field(default_factory=list)


def _try_merge(state: _GroupState, m: _MemberBuild) -> None:
    """Check ``m`` against the group so far; raise on conflict, else record it."""
    for k, v in m.exclusive.items():
        if k in state.exclusive and state.exclusive[k][0] != v:
            raise _conflict(
                m, _EXCLUSIVE_FIELDS[k], v, state.exclusive[k][1], state.exclusive[k][0]
            )
    for k, v in m.lb_attributes.items():
        if k in state.lb_attributes and state.lb_attributes[k][0] != v:
            first = state.lb_attributes[k]
            raise _conflict(
                m, f"annotation {ANN}load-balancer-attributes[{k}]", v, first[1], first[0]
            )
    for k, v in m.tags.items():
        if k in state.tags and state.tags[k][0] != v:
            raise _conflict(m, f"annotation {ANN}tags[{k}]", v, state.tags[k][1], state.tags[k][0])
    for port, proto in m.ports.items():
        if port in state.ports and state.ports[port][0] != proto:
            first = state.ports[port]
            raise _conflict(m, f"annotation {ANN}listen-ports[{port}]", proto, first[1], first[0])
        if m.prefix_lists is not None and port in state.prefix_lists:
            first_pl = state.prefix_lists[port]
            if sorted(first_pl[0]) != sorted(m.prefix_lists):
                raise _conflict(
                    m,
                    f"annotation {ANN}security-group-prefix-lists",
                    m.prefix_lists,
                    first_pl[1],
                    first_pl[0],
                )
        if m.inbound_cidrs is not None and port in state.cidrs:
            first_c = state.cidrs[port]
            if sorted(first_c[0]) != sorted(m.inbound_cidrs):
                raise _conflict(
                    m, f"annotation {ANN}inbound-cidrs", m.inbound_cidrs, first_c[1], first_c[0]
                )
        if proto == "HTTPS" and m.ssl_policy and port in state.ssl_policy:
            first_p = state.ssl_policy[port]
            if first_p[0] != m.ssl_policy:
                raise _conflict(
                    m, f"annotation {ANN}ssl-policy", m.ssl_policy, first_p[1], first_p[0]
                )
        if m.default_action is not None and port in state.defaults:
            raise InvalidInputError(
                m.obj,
                "spec.defaultBackend",
                f"listener {port} already has the default backend of Ingress/{state.defaults[port][1]}",
            )
    rules_per_port: dict[int, int] = {}
    for sm in state.members:
        for port in sm.ports:
            rules_per_port[port] = rules_per_port.get(port, 0) + len(sm.rules)
    for port in m.ports:
        total = rules_per_port.get(port, 0) + len(m.rules)
        if total > MAX_RULES_PER_LISTENER:
            raise QuotaExceededError(
                m.obj,
                "spec.rules",
                f"listener {port} would have {total} rules; an ALB listener allows "
                f"{MAX_RULES_PER_LISTENER}",
            )
    # record
    for k, v in m.exclusive.items():
        state.exclusive.setdefault(k, (v, m.key))
    for k, v in m.lb_attributes.items():
        state.lb_attributes.setdefault(k, (v, m.key))
    for k, v in m.tags.items():
        state.tags.setdefault(k, (v, m.key))
    for port, proto in m.ports.items():
        state.ports.setdefault(port, (proto, m.key))
        if m.inbound_cidrs is not None:
            state.cidrs.setdefault(port, (m.inbound_cidrs, m.key))
        if m.prefix_lists is not None:
            state.prefix_lists.setdefault(port, (m.prefix_lists, m.key))
        if proto == "HTTPS" and m.ssl_policy:
            state.ssl_policy.setdefault(port, (m.ssl_policy, m.key))
        if m.default_action is not None:
            state.defaults[port] = (m.default_action, m.key)
    state.members.append(m)


def build_group(inp: GroupInput) -> BuildResult:
    """Build the desired stack of one group from its members that are valid."""
    group = inp.group
    result = BuildResult(group_id=group.id, stack=None, invalid=dict(group.invalid))
    state = _GroupState()
    member_certs: dict[str, list[str]] = {}
    imported: dict[str, ImportedCertificate] = {}
    for member in group.members:
        try:
            mb = _MemberBuilder(member, inp).build()
            got = _member_certs(mb, inp)
            certs, warns = got.refs, got.warnings
            result.secret_errors += got.secret_errors
            https_ports = [p for p, proto in mb.ports.items() if proto == "HTTPS"]
            if https_ports and not certs and inp.inventory.aws_known:
                raise InvalidInputError(
                    mb.obj,
                    f"annotation {ANN}certificate-arn",
                    f"HTTPS listener {https_ports[0]} needs a certificate: none given, none "
                    f"discovered in ACM for hosts {', '.join(mb.hosts) or '(no hosts)'}, and no "
                    "usable TLS Secret in spec.tls",
                )
            _try_merge(state, mb)
        except InvalidInputError as exc:
            result.invalid[member.key] = exc
            continue
        member_certs[mb.key] = certs
        imported.update(got.imported)
        result.materials.update(got.materials)
        result.warnings += warns
        result.active.append(mb.key)
    if not state.members:
        return result
    try:
        result.stack = _assemble(inp, state, member_certs, imported)
    except InvalidInputError as exc:
        result.group_error = exc
        result.stack = None
    return result


def _member_certs(m: _MemberBuild, inp: GroupInput) -> MemberCertificates:
    c = CertInput(
        obj=m.obj,
        namespace=m.key.partition("/")[0],
        hosts=m.hosts,
        tls=m.tls,
        explicit=m.explicit_certs,
        https="HTTPS" in m.ports.values(),
    )
    return member_certificates(c, inp.inventory, inp.secrets, inp.group.id, inp.now)


def _assemble(
    inp: GroupInput,
    state: _GroupState,
    member_certs: dict[str, list[str]],
    imported: dict[str, ImportedCertificate],
) -> Stack:
    s = inp.settings
    group = inp.group
    inv = inp.inventory
    ex = {k: v[0] for k, v in state.exclusive.items()}
    scheme = ex.get("scheme", s.default_scheme)
    ip_type = ex.get("ip_address_type", "ipv4")
    first_obj = state.members[0].obj
    base_tags = dict(s.default_tags)
    for k, (v, _) in state.tags.items():
        base_tags.setdefault(k, v)

    def owned(
        resource_id: str, extra: Mapping[str, str], member: str | None = None
    ) -> dict[str, str]:
        tags = dict(extra)
        tags.update({CLUSTER_TAG: s.cluster_name, STACK_TAG: group.id, RESOURCE_TAG: resource_id})
        if member:
            tags[INGRESS_TAG] = member
        if len(tags) > MAX_TAGS:
            raise QuotaExceededError(
                first_obj, f"annotation {ANN}tags", f"{len(tags)} tags; AWS allows {MAX_TAGS}"
            )
        return tags

    # subnets
    try:
        if not inv.aws_known:
            subnets = sorted(ex.get("subnets", ()))
        elif "subnets" in ex:
            subnets = resolve(ex["subnets"], inv.subnets, inv.vpc_id)
        elif inv.existing_subnets and inv.existing_scheme == scheme:
            subnets = sorted(inv.existing_subnets)
        else:
            subnets = discover(inv.subnets, scheme, s.cluster_name, inv.vpc_id, ip_type != "ipv4")
    except SubnetError as exc:
        setter = state.exclusive.get("subnets", (None, state.members[0].key))[1]
        raise InvalidInputError(f"Ingress/{setter}", f"annotation {ANN}subnets", str(exc)) from None

    # listeners
    redirect_port = ex.get("ssl_redirect")
    if redirect_port is not None and state.ports.get(redirect_port, ("",))[0] != "HTTPS":
        setter = state.exclusive["ssl_redirect"][1]
        raise InvalidInputError(
            f"Ingress/{setter}",
            f"annotation {ANN}ssl-redirect",
            f"port {redirect_port} is not an HTTPS listener of the group",
        )
    listeners: list[Listener] = []
    rules: list[Rule] = []
    target_groups: dict[str, TargetGroup] = {}
    used_tgs: set[str] = set()
    for port in sorted(state.ports):
        proto = state.ports[port][0]
        lid = str(port)
        members = [m for m in state.members if port in m.ports]
        if proto == "HTTP" and redirect_port is not None:
            default = Action(
                type="redirect",
                redirect=RedirectConfig(
                    protocol="HTTPS", port=str(redirect_port), status_code="HTTP_301"
                ),
            )
        elif port in state.defaults:
            default = state.defaults[port][0]
        else:
            default = Action(
                type="fixed-response",
                fixed_response=FixedResponseConfig(status_code="404", content_type="text/plain"),
            )
        certs: list[str] = []
        if proto == "HTTPS":
            for m in members:
                certs += member_certs.get(m.key, [])
            certs = list(dict.fromkeys(certs))
            if len(certs) > MAX_CERTS_PER_LISTENER + 1:
                raise QuotaExceededError(
                    members[-1].obj,
                    f"annotation {ANN}certificate-arn",
                    f"listener {port} would have {len(certs)} certificates; ALB allows {MAX_CERTS_PER_LISTENER} plus the default",
                )
        listeners.append(
            Listener(
                id=lid,
                port=port,
                protocol=proto,
                ssl_policy=(
                    state.ssl_policy.get(port, (s.default_ssl_policy, ""))[0]
                    if proto == "HTTPS"
                    else None
                ),
                certificates=tuple(certs),
                default_action=default,
                tags=owned(lid, base_tags),
            )
        )
        _collect_tgs(default, used_tgs)
        if proto == "HTTP" and redirect_port is not None:
            continue
        priority = 0
        for m in members:
            for rkey, conditions, action in m.rules:
                priority += 1
                rid = f"{lid}:{m.key}:{rkey}"
                rules.append(
                    Rule(
                        id=rid,
                        listener=lid,
                        ingress=m.key,
                        priority=priority,
                        conditions=conditions,
                        action=action,
                        tags=owned(rid, m.tags, m.key),
                    )
                )
                _collect_tgs(action, used_tgs)
    for m in state.members:
        for tid, tg in m.target_groups.items():
            if tid in used_tgs:
                target_groups[tid] = tg.model_copy(update={"tags": owned(tid, tg.tags, m.key)})

    # security groups
    sg: SecurityGroup | None = None
    source: str | None = None
    if "security_groups" in ex:
        sg_refs = tuple(ex["security_groups"])
        if ex.get("manage_backend_rules"):
            if not s.enable_backend_sg:
                setter = state.exclusive["manage_backend_rules"][1]
                raise InvalidInputError(
                    f"Ingress/{setter}",
                    _EXCLUSIVE_FIELDS["manage_backend_rules"],
                    "needs the backend security group, which is disabled "
                    "(--enable-backend-security-group=false)",
                )
            sg_refs += (BACKEND_SG_ID,)
            source = BACKEND_SG_ID
    else:
        sg_rules: list[SecurityGroupRule] = []
        for port in sorted(state.ports):
            cidrs = state.cidrs.get(port, (None, ""))[0]
            prefix_lists = state.prefix_lists.get(port, (None, ""))[0]
            if cidrs is None and not prefix_lists:
                cidrs = ["0.0.0.0/0"] + (["::/0"] if ip_type != "ipv4" else [])
            for c in cidrs or []:
                if ":" in c and ip_type == "ipv4":
                    continue
                sg_rules.append(SecurityGroupRule(from_port=port, to_port=port, cidr=c))
            for pl in prefix_lists or []:
                sg_rules.append(SecurityGroupRule(from_port=port, to_port=port, prefix_list=pl))
        sg = SecurityGroup(
            id=MANAGED_SG_ID,
            name=security_group_name(s.cluster_name, group.id, group.explicit),
            description=f"[albctl] managed security group for load balancer of {group.id}",
            ingress=tuple(
                sorted(set(sg_rules), key=lambda r: (r.from_port, r.cidr, r.prefix_list))
            ),
            tags=owned(MANAGED_SG_ID, base_tags),
        )
        sg_refs = (MANAGED_SG_ID, BACKEND_SG_ID) if s.enable_backend_sg else (MANAGED_SG_ID,)
        source = BACKEND_SG_ID if s.enable_backend_sg else MANAGED_SG_ID
    lb = LoadBalancer(
        id=LB_ID,
        name=ex.get("name") or load_balancer_name(s.cluster_name, group.id, group.explicit, scheme),
        scheme=scheme,
        ip_address_type=ip_type,
        subnets=tuple(subnets),
        security_groups=sg_refs,
        attributes={k: v for k, (v, _) in sorted(state.lb_attributes.items())},
        tags=owned(LB_ID, base_tags),
        web_acl=ex.get("web_acl"),
    )
    return Stack(
        group_id=group.id,
        load_balancer=lb,
        security_group=sg,
        target_groups=tuple(target_groups[k] for k in sorted(target_groups)),
        listeners=tuple(listeners),
        rules=tuple(rules),
        backend_rules_source=source,
        certificates=tuple(
            c.model_copy(
                update={"tags": {**owned(c.id, base_tags), FINGERPRINT_TAG: c.fingerprint}}
            )
            for cid, c in sorted(imported.items())
            if any(cid in li.certificates for li in listeners)
        ),
    )


def _collect_tgs(action: Action, into: set[str]) -> None:
    for f in action.forward:
        if not f.target_group.startswith("arn:"):
            into.add(f.target_group)
