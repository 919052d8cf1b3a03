# sandboxd image: a drop-in container side for @cloudflare/sandbox.
# Both stages install packages through docker/install-deps.sh, the same
# script CI runs, so the image and CI cannot drift apart.

FROM debian:12 AS build
WORKDIR /src
COPY docker/install-deps.sh docker/install-deps.sh
RUN bash docker/install-deps.sh build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSANDBOXD_TESTS=OFF \
 && cmake --build build -j"$(nproc)" \
 && strip build/sandboxd

FROM debian:12
ARG SANDBOX_VERSION=0.4.14
ENV DEBIAN_FRONTEND=noninteractive \
    SANDBOX_VERSION=${SANDBOX_VERSION} \
    SANDBOXD_EXECUTORS_DIR=/container-server/interpreter/executors \
    PYTHON_POOL_MIN_SIZE=3 PYTHON_POOL_MAX_SIZE=15 \
    JAVASCRIPT_POOL_MIN_SIZE=3 JAVASCRIPT_POOL_MAX_SIZE=10 \
    TYPESCRIPT_POOL_MIN_SIZE=3 TYPESCRIPT_POOL_MAX_SIZE=10
WORKDIR /container-server
COPY docker/install-deps.sh docker/install-deps.sh
COPY interpreter/executors interpreter/executors
RUN bash docker/install-deps.sh runtime \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /workspace
COPY --from=build /src/build/sandboxd /usr/local/bin/sandboxd
COPY --from=build /src/build/sandboxd_print.so interpreter/executors/sandboxd_print.so
COPY startup.sh ./startup.sh
EXPOSE 3000
CMD ["./startup.sh"]
