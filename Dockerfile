# Builds llm-worker in a CUDA development image and runs it from the CUDA
# runtime image as a non-root user. One image serves CPU and GPU nodes: the
# CUDA backend is chosen with LLMW_DEVICE (deploy/overlays/cpu and gpu).
# The runtime packages are exactly the libraries the binary links;
# scripts/check-image-libs.sh checks that list against the built binary.
ARG CUDA_VERSION=13.0.0
FROM nvidia/cuda:${CUDA_VERSION}-devel-ubuntu24.04 AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config git \
      libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev libutf8proc-dev \
      nlohmann-json3-dev libspdlog-dev protobuf-compiler libprotobuf-dev libgrpc++-dev \
      protobuf-compiler-grpc prometheus-cpp-dev && \
    rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLMW_CUDA=ON \
      -DLLMW_BUILD_TESTS=OFF -DLLMW_BUILD_BENCH=OFF && \
    cmake --build build --target llm-worker llmw

FROM nvidia/cuda:${CUDA_VERSION}-runtime-ubuntu24.04
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libabsl20220623t64 libgrpc++1.51t64 libgrpc29t64 libprotobuf32t64 libutf8proc3 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 && \
    rm -rf /var/lib/apt/lists/* && \
    useradd --system --uid 10001 --create-home llmw
COPY --from=build /src/build/tools/llmw /usr/local/bin/llmw
COPY --from=build /src/build/worker/llm-worker /usr/local/bin/llm-worker
# Fails the build when a library the binaries need is missing from the image.
RUN ldd /usr/local/bin/llm-worker /usr/local/bin/llmw > /tmp/ldd.txt && \
    ! grep "not found" /tmp/ldd.txt && rm /tmp/ldd.txt
USER 10001
EXPOSE 50051 9100
ENTRYPOINT ["/usr/local/bin/llm-worker"]
