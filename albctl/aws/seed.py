"""Seed an empty AWS-compatible endpoint (moto, LocalStack) with what a cluster's VPC has.

Used by the demo and the tests: a VPC, public and private subnets in three AZs tagged for
discovery, EC2 instances for the nodes, and issued ACM certificates. Never run against AWS.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from albctl.aws.clients import AwsClients

AZS = ("a", "b", "c")


@dataclass
class Seeded:
    vpc_id: str
    public_subnets: list[str] = field(default_factory=list)
    private_subnets: list[str] = field(default_factory=list)
    instances: list[str] = field(default_factory=list)
    # the nodes' security group (tagged kubernetes.io/cluster/<cluster>, as EKS does) and a
    # second, untagged one on the same interfaces (like a remote-access group)
    node_security_group: str = ""
    remote_access_security_group: str = ""
    certificates: dict[str, str] = field(default_factory=dict)  # domain -> ARN


def self_signed(domain: str, sans: list[str]) -> tuple[bytes, bytes]:
    """A self-signed certificate and key (PEM) for importing into ACM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(d) for d in [domain, *sans]]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
    )


def seed(
    clients: AwsClients,
    cluster: str,
    instances: int = 3,
    certificates: dict[str, list[str]] | None = None,
    pod_ips: dict[str, int] | None = None,
) -> Seeded:
    """``pod_ips`` (pod IP -> instance index) become secondary addresses of the instances'
    primary interfaces, as the VPC CNI assigns them."""
    ec2 = clients.ec2
    region = clients.region
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    out = Seeded(vpc_id=vpc_id)
    for i, az in enumerate(AZS):
        for kind, role, base in (
            ("public", "kubernetes.io/role/elb", 100),
            ("private", "kubernetes.io/role/internal-elb", 200),
        ):
            tags: list[dict[str, Any]] = [
                {"Key": role, "Value": "1"},
                {"Key": f"kubernetes.io/cluster/{cluster}", "Value": "shared"},
                {"Key": "Name", "Value": f"{cluster}-{kind}-{az}"},
            ]
            sid = ec2.create_subnet(
                VpcId=vpc_id,
                CidrBlock=f"10.0.{base + i}.0/24",
                AvailabilityZone=f"{region}{az}",
                TagSpecifications=[{"ResourceType": "subnet", "Tags": tags}],
            )["Subnet"]["SubnetId"]
            (out.public_subnets if kind == "public" else out.private_subnets).append(sid)
    out.node_security_group = _security_group(
        clients, vpc_id, f"eks-{cluster}-nodes", {f"kubernetes.io/cluster/{cluster}": "owned"}
    )
    out.remote_access_security_group = _security_group(
        clients, vpc_id, f"eks-{cluster}-remote-access", {}
    )
    if instances:
        image = "ami-03cf127a"  # one of moto's default images; listing them all takes seconds
        for i in range(instances):
            resp = ec2.run_instances(
                ImageId=image,
                MinCount=1,
                MaxCount=1,
                InstanceType="t3.medium",
                SubnetId=out.private_subnets[i % 3],
                SecurityGroupIds=[out.node_security_group, out.remote_access_security_group],
            )
            out.instances.append(resp["Instances"][0]["InstanceId"])
    for i, iid in enumerate(out.instances):
        mine = sorted(ip for ip, n in (pod_ips or {}).items() if n % len(out.instances) == i)
        if mine:
            add_pod_ips(clients, iid, mine)
    for domain, sans in (certificates or {}).items():
        cert, key = self_signed(domain, sans)
        arn = clients.acm.import_certificate(Certificate=cert, PrivateKey=key)["CertificateArn"]
        out.certificates[domain] = arn
    return out


def _security_group(clients: AwsClients, vpc_id: str, name: str, tags: dict[str, str]) -> str:
    spec = [{"Key": k, "Value": v} for k, v in {"Name": name, **tags}.items()]
    return str(
        clients.ec2.create_security_group(
            GroupName=name,
            Description=name,
            VpcId=vpc_id,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": spec}],
        )["GroupId"]
    )


def add_pod_ips(clients: AwsClients, instance_id: str, ips: list[str]) -> str:
    """Give the instance's primary interface secondary addresses (pod IPs, as the VPC CNI
    does); returns the interface id."""
    enis = clients.ec2.describe_network_interfaces(
        Filters=[{"Name": "attachment.instance-id", "Values": [instance_id]}]
    )["NetworkInterfaces"]
    eni = next(e for e in enis if e["Attachment"]["DeviceIndex"] == 0)
    clients.ec2.assign_private_ip_addresses(
        NetworkInterfaceId=eni["NetworkInterfaceId"], PrivateIpAddresses=ips
    )
    return str(eni["NetworkInterfaceId"])


def node_manifests(instance_ids: list[str], region: str) -> list[dict[str, Any]]:
    """Node objects whose providerID points at the seeded instances."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": f"node-{i}",
                "labels": {"topology.kubernetes.io/zone": f"{region}{AZS[i % 3]}"},
            },
            "spec": {"providerID": f"aws:///{region}{AZS[i % 3]}/{iid}"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }
        for i, iid in enumerate(instance_ids)
    ]
