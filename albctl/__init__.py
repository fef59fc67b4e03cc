"""albctl: turn Kubernetes Ingress objects into AWS Application Load Balancers."""

# The one place albctl's version is written. The package metadata reads it (pyproject.toml,
# dynamic version); scripts/set-version copies it into the Helm chart (version, appVersion)
# and the Dockerfile (VERSION), and tests/test_version.py checks that they all agree. The
# release workflow publishes the image and the chart under it when the tag v<version> is pushed.
__version__ = "0.1.0"
