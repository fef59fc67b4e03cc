"""The controller's discovery cache: subnets and the ACM list are read once per TTL, and an
invalidation (after an import, or on a miss) reads them again."""

from __future__ import annotations

from albctl.aws.discover import DiscoveryCache, discover_inventory
from tests.aws.test_engine import clients
from tests.conftest import AwsEnv


def test_subnets_and_certificates_are_read_once_per_ttl(aws: AwsEnv) -> None:
    c = clients(aws)
    cache = DiscoveryCache()
    first = discover_inventory(c, None, True, cluster="test", cache=cache)
    c.reset_counts()
    again = discover_inventory(c, None, True, cluster="test", cache=cache)
    assert again == first
    assert c.calls[("ec2", "DescribeSubnets")] == 0
    assert c.calls[("acm", "ListCertificates")] == 0
    cache.invalidate_certificates()
    c.reset_counts()
    discover_inventory(c, None, True, cluster="test", cache=cache)
    assert c.calls[("acm", "ListCertificates")] == 1 and c.calls[("ec2", "DescribeSubnets")] == 0
    expired = DiscoveryCache(subnet_ttl=0, certificate_ttl=0)
    discover_inventory(c, None, True, cluster="test", cache=expired)
    c.reset_counts()
    discover_inventory(c, None, True, cluster="test", cache=expired)
    assert c.calls[("ec2", "DescribeSubnets")] == 1 and c.calls[("acm", "ListCertificates")] == 1
