package record

import (
	"math/rand/v2"
	"testing"
	"time"
	"os"
	"runtime/pprof"
	"fmt"
)

func TestTmpHang(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var seeds [][]byte
	for _, mime := range fuzzMimes {
		s := loadStream(t, mime)
		seeds = append(seeds, encodeFuzzPackets(s.pkts[:12]), encodeFuzzPackets(s.pkts[len(s.pkts)/2:len(s.pkts)/2+8]))
	}
	for i := 0; i < 3000; i++ {
		kind, ml := byte(rng.IntN(3)), byte(rng.IntN(256))
		data := append([]byte(nil), seeds[rng.IntN(len(seeds))]...)
		for k := rng.IntN(10); k >= 0; k-- {
			data[rng.IntN(len(data))] = byte(rng.IntN(256))
		}
		done := make(chan struct{})
		go func() {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				fmt.Printf("HANG kind=%d ml=%d data=%x\n", kind, ml, data)
				pprof.Lookup("goroutine").WriteTo(os.Stdout, 2)
				os.Exit(1)
			}
		}()
		fuzzTrackWriter(t, kind, ml, data)
		close(done)
	}
}
