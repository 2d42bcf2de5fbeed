# Builds llm-worker in a CUDA development image and runs it from a slim
# runtime image as a non-root user.
ARG CUDA_VERSION=13.0.0
FROM nvidia/cuda:${CUDA_VERSION}-devel-ubuntu24.04 AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config git \
      libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev libutf8proc-dev \
      nlohmann-json3-dev libspdlog-dev protobuf-compiler libprotobuf-dev libgrpc++-dev \
      protobuf-compiler-grpc libcivetweb-dev && \
    rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLMW_CUDA=ON \
      -DLLMW_BUILD_TESTS=OFF -DLLMW_BUILD_BENCH=OFF && \
    cmake --build build --target llm-worker llmw

FROM nvidia/cuda:${CUDA_VERSION}-runtime-ubuntu24.04
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libabsl20220623t64 libutf8proc3 libgrpc++1.51t64 libprotobuf32t64 libcivetweb1 && \
    rm -rf /var/lib/apt/lists/* && \
    useradd --system --uid 10001 --create-home llmw
COPY --from=build /src/build/tools/llmw /usr/local/bin/llmw
COPY --from=build /src/build/worker/llm-worker /usr/local/bin/llm-worker
USER llmw
EXPOSE 50051 9100
ENTRYPOINT ["/usr/local/bin/llm-worker"]
