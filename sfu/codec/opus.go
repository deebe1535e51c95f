package codec

// OpusSamples returns an Opus packet's duration in 48 kHz samples, read from its TOC byte (RFC 6716
// 3.1), or 0 when the packet is malformed or claims more than the 120 ms a packet may hold.
func OpusSamples(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	config := p[0] >> 3
	var frame int // samples per frame
	switch {
	case config < 12: // SILK: 10, 20, 40, 60 ms
		frame = [4]int{480, 960, 1920, 2880}[config&3]
	case config < 16: // hybrid: 10, 20 ms
		frame = [2]int{480, 960}[config&1]
	default: // CELT: 2.5, 5, 10, 20 ms
		frame = [4]int{120, 240, 480, 960}[config&3]
	}
	count := 1
	switch p[0] & 3 {
	case 1, 2:
		count = 2
	case 3:
		if len(p) < 2 {
			return 0
		}
		count = int(p[1] & 0x3f)
	}
	if n := frame * count; n <= 5760 {
		return n
	}
	return 0
}
