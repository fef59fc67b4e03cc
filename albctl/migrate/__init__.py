"""``albctl migrate``: ingress-nginx manifests into albctl's, with a report (pure)."""

from albctl.migrate.convert import Migration, migrate
from albctl.migrate.report import MigrationReport, render_text

__all__ = ["Migration", "MigrationReport", "migrate", "render_text"]
