# syntax=docker/dockerfile:1
# albctl controller image, for linux/amd64 and linux/arm64:
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg COMMIT="$(git rev-parse HEAD)" -t <repository>:<version> --push .
# Stage 1 builds wheels of albctl and all its dependencies; stage 2 installs them into a clean
# slim image without compilers or the source tree, and runs as an unprivileged user.
# tests/test_image_install.py replays both stages without docker (wheel into a clean venv).

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder ------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY albctl ./albctl
RUN pip wheel --wheel-dir /wheels .

# --- runtime ------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
# albctl's version (albctl/__init__.py; scripts/set-version keeps this default equal to it). The
# install below pins it, so an image can never be labelled with a version it does not contain.
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="albctl" \
      org.opencontainers.image.description="Kubernetes ingress controller that turns Ingress objects into AWS Application Load Balancers" \
      org.opencontainers.image.source="https://github.com/albctl/albctl" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# the same UID/GID the Helm chart's securityContext uses
RUN groupadd --system --gid 65532 albctl \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin albctl
# wheels are bind-mounted from the builder, so they never become a layer of this image
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels "albctl==${VERSION}" \
 && albctl --help >/dev/null
# the commit `albctl version` prints; declared last so a new commit rebuilds only this layer
ARG COMMIT=unknown
LABEL org.opencontainers.image.revision="${COMMIT}"
ENV ALBCTL_COMMIT="${COMMIT}"
WORKDIR /
USER 65532:65532
# metrics, health probes, admission webhooks (HTTPS)
EXPOSE 8080 8081 9443
ENTRYPOINT ["albctl", "run"]
