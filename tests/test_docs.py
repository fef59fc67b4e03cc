"""The install and release docs: relative links and anchors resolve, and the install guide tells
a user what to do before a release exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted(
    [
        ROOT / "README.md",
        ROOT / "CHANGELOG.md",
        ROOT / "helm/albctl/README.md",
        *(ROOT / "docs").glob("*.md"),
    ]
)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)
    found = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
        found.add(slug.replace(" ", "-"))
    return found


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_and_anchors_resolve(doc: Path) -> None:
    broken = []
    for target in LINK.findall(doc.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        path = (doc.parent / file).resolve() if file else doc
        if not path.exists() or (anchor and path.suffix == ".md" and anchor not in anchors(path)):
            broken.append(target)
    assert not broken, broken


def test_install_guide_builds_and_pushes_the_image_before_a_release() -> None:
    text = (ROOT / "docs/install.md").read_text()
    section = text.split("### Build and push the image", 1)[1].split("\n## ", 1)[0]
    assert "aws ecr create-repository --repository-name albctl" in section
    assert "docker buildx build --platform linux/amd64,linux/arm64" in section
    assert "--push ." in section
    assert '--set image.repository="$REPO" --set image.tag="$TAG"' in section
    # no literal release version: the guide reads it from the chart it installs
    assert "export VERSION=$(awk '/^appVersion:/ {print $2}' helm/albctl/Chart.yaml)" in text
    assert "describe pod -l app.kubernetes.io/name=albctl" in text
    assert {"0-the-image", "build-and-push-the-image", "released-images-and-charts"} <= anchors(
        ROOT / "docs/install.md"
    )
