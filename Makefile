# Convenience targets; each is one documented command.
.PHONY: run test race vet fuzz bench build

run:    ## run a local node on http://127.0.0.1:7880
	go run ./cmd/server

test:   ## the test command CI runs
	go test -race -count=1 -p 1 ./...

vet:
	go vet ./...

build:
	CGO_ENABLED=0 go build -trimpath -o bin/server ./cmd/server

fuzz:   ## run each fuzz target for 20 s
	go test ./signaling/protocol -run '^$$' -fuzz FuzzDecode -fuzztime 20s
	go test ./sfu/codec -run '^$$' -fuzz FuzzIsKeyframe -fuzztime 20s
	go test ./sfu -run '^$$' -fuzz FuzzPacketParse -fuzztime 20s
	go test ./sfu -run '^$$' -fuzz FuzzVP8Descriptor -fuzztime 20s
	go test ./loadtest/media -run '^$$' -fuzz FuzzLayerOf -fuzztime 20s
	go test ./loadtest/netem -run '^$$' -fuzz FuzzRewriteCandidate -fuzztime 20s

bench:  ## forwarding-path benchmarks (allocations per packet)
	go test ./sfu -run '^$$' -bench . -benchmem
