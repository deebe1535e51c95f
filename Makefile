# Convenience targets; each is one documented command.
.PHONY: run test race vet fuzz bench microbench build

run:    ## run a local node on http://127.0.0.1:7880
	go run ./cmd/server

test:   ## the test command CI runs
	go test -race -count=1 -p 1 -timeout 30m ./...

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
	go test ./signaling/auth -run '^$$' -fuzz FuzzVerify -fuzztime 20s
	go test ./signaling/cluster -run '^$$' -fuzz FuzzDecode -fuzztime 20s
	go test ./sfu/bwe -run '^$$' -fuzz FuzzFeedback -fuzztime 20s
	go test ./sfu/turnserver -run '^$$' -fuzz FuzzParseUsername -fuzztime 20s
	go test ./signaling -run '^$$' -fuzz FuzzInviteBody -fuzztime 20s

# The load benchmark: builds the server and the load tester, starts the server on free loopback ports,
# runs the livestream and meeting presets against it (BENCH_DURATION each, measured after everyone
# joined), BENCH_RUNS times each, prints the first run's report and a summary of forwarded packets per
# server CPU-second (every run and the median), and stops the server. PROFILE=1 also captures a CPU
# profile of the server during meeting and prints its top functions.
BENCH_DURATION ?= 20s
BENCH_PRESETS ?= livestream,meeting
BENCH_RUNS ?= 3

bench:  ## load benchmark of a real server on loopback (PROFILE=1: CPU profile during meeting)
	CGO_ENABLED=0 go build -trimpath -o bin/server ./cmd/server
	go build -o bin/loadtest ./cmd/loadtest
	bin/loadtest bench -server bin/server -presets $(BENCH_PRESETS) -duration $(BENCH_DURATION) -runs $(BENCH_RUNS) -out bin/bench \
		$(if $(SERVER_PROCS),-server-procs $(SERVER_PROCS)) \
		$(if $(PROFILE),-profile bin/bench/meeting.cpu.pprof -profile-preset meeting)

microbench:  ## forwarding-path benchmarks (allocations per packet)
	go test ./sfu -run '^$$' -bench . -benchmem
