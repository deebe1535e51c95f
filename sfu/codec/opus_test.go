package codec

import "testing"

func TestOpusSamples(t *testing.T) {
	tests := []struct {
		name   string
		packet []byte
		want   int
	}{
		{"empty", nil, 0},
		{"SILK 10 ms", []byte{0 << 3}, 480},
		{"SILK 60 ms", []byte{3 << 3}, 2880},
		{"hybrid 20 ms", []byte{13 << 3}, 960},
		{"CELT 2.5 ms", []byte{16 << 3}, 120},
		{"CELT 20 ms", []byte{31 << 3}, 960},
		{"two frames (code 1)", []byte{31<<3 | 1}, 1920},
		{"two frames (code 2)", []byte{31<<3 | 2}, 1920},
		{"code 3, 3 frames", []byte{31<<3 | 3, 3}, 2880},
		{"code 3 without its count byte", []byte{31<<3 | 3}, 0},
		{"code 3 beyond 120 ms", []byte{31<<3 | 3, 7}, 0},
	}
	for _, tt := range tests {
		if got := OpusSamples(tt.packet); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
}
