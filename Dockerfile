# ElasticJupyter: the gateway and the controller in one image (`elastic-jupyter gateway`, `elastic-jupyter
# controller`). From a clean checkout:
#
#   docker build -t ghcr.io/elastic-jupyter/elastic-jupyter:0.1.0 .
#
# The `builder` stage compiles a release binary with the Swift standard library linked statically; the runtime
# stage is Debian slim with libzmq, the binary and the shipped kernelspecs, run by a numeric non-root user,
# entered without a shell. The stage `binary` holds the files to install (usr/local/bin/elastic-jupyter and the
# pre-pull no-op program usr/local/libexec/elastic-jupyter/noop): a build
# that already has a binary replaces it with `--build-context binary=DIR` and never runs the builder stage
# (scripts/build-images.sh does this; a binary linked against the shared Swift runtime brings its libraries in
# usr/local/lib/swift/linux plus an etc/ld.so.conf.d file naming that directory).
ARG SWIFT_IMAGE=docker.io/library/swift:6.3-bookworm
ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS builder
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libzmq3-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN swift build -c release --static-swift-stdlib --product elastic-jupyter \
 && install -D -m 0755 "$(swift build -c release --show-bin-path)/elastic-jupyter" /out/usr/local/bin/elastic-jupyter
# the static no-op program the image pre-pulling pods run from each kernel image (images/noop/noop.c), built for
# this stage's architecture (x86_64 or aarch64) with the toolchain's clang
RUN mkdir -p /out/usr/local/libexec/elastic-jupyter \
 && clang -static -nostdlib -ffreestanding -fno-stack-protector -O2 -o /out/usr/local/libexec/elastic-jupyter/noop images/noop/noop.c

FROM scratch AS binary
COPY --from=builder /out/ /

FROM ${BASE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libzmq5 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=binary / /
# next to the binary, where the gateway looks for its own kernelspecs (<prefix>/share/elastic-jupyter/kernelspecs):
# the pod kernelspecs only, as this image has no Python for the local one
COPY kernelspecs/python_kubernetes/ /usr/local/share/elastic-jupyter/kernelspecs/python_kubernetes/
COPY kernelspecs/python_kubernetes_gpu/ /usr/local/share/elastic-jupyter/kernelspecs/python_kubernetes_gpu/
# refresh the linker cache (only a prebuilt binary with a shared Swift runtime needs it) and fail the build here,
# not in a pod, if a library is missing
RUN ldconfig && /usr/local/bin/elastic-jupyter --help > /dev/null && /usr/local/libexec/elastic-jupyter/noop
# deploy/ runs the gateway as 1000 and the controller as 65532; this is the default for anything else
USER 65532:65532
WORKDIR /tmp
ENTRYPOINT ["/usr/local/bin/elastic-jupyter"]
CMD ["gateway"]
