# Multi-stage build: a static binary on a distroless, non-root base.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/server ./cmd/server

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/server /server
COPY configs/server.yaml /etc/huddle/server.yaml
USER nonroot:nonroot
# 7880/tcp: web client, WebSocket signalling, /healthz (HTTPS with -tls-cert). 7882/udp: all media (ICE
# UDP mux). 7881/tcp: ICE/TCP. 3478/udp+tcp: TURN. 5349/tcp: TURN over TLS (with a certificate).
EXPOSE 7880/tcp 7882/udp 7881/tcp 3478/udp 3478/tcp 5349/tcp
# In a container the node must listen on all interfaces and advertise the host's IP, and a node that
# serves other machines needs an API key (it refuses to start without one):
#   docker run -p 7880:7880 -p 7882:7882/udp -p 7881:7881 -p 3478:3478/udp -p 3478:3478 \
#     -e HUDDLE_API_KEY=k1 -e HUDDLE_API_SECRET=<32+ random bytes> huddle -public-ip 203.0.113.10
ENTRYPOINT ["/server", "-config", "/etc/huddle/server.yaml", "-http", "0.0.0.0:7880", "-bind-ip", "0.0.0.0"]
