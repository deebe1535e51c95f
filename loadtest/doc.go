// Package loadtest drives a Huddle server the way its users load it and reports what they got and what
// it cost. A run (Run) joins participants through the one Go client of the signalling protocol
// (signaling/client) at a join rate, has the publishers send synthetic media shaped like real encoders'
// (loadtest/media: VP8 simulcast 150/600/2000 kbps at 15/20/30 fps, keyframes every 3 s and on PLI,
// Opus every 20 ms with the audio level extension) or replay IVF/Ogg files, makes every receiver ask for
// what its layout shows (track_settings), meters every received track, and reads the server's /metrics
// before and after the measurement to put a price on it: forwarded packets per server CPU-second. Given
// the nodes of a cluster, it spreads each room's participants over them and sums their cost.
// Presets (livestream, meeting, classroom, consultation) describe the scenarios; the Report prints as
// tables (WriteText), JSON, or a self-contained HTML page with charts (WriteHTML).
//
// Locking and goroutines: Run owns a run from start to end and returns only after every goroutine it
// started has ended. During the join phase one goroutine per participant dials, joins and publishes
// (its results are read only after the phase, when all have finished). Each joined participant has one
// event goroutine (layout and track settings), ended by its socket closing or the run's context. Each
// source sends on its own goroutine until the run's media context ends. Each received track has one
// reader goroutine, the only writer of its trackMeter, which holds the meter's mutex for a few field
// updates per packet and allocates nothing; the sampler (one goroutine, once a second) and the report
// take that mutex only to copy a snapshot. participant.mu guards a participant's maps of tracks and may
// be held while taking a meter's mutex, never the other way round; the runner's mu guards the list of
// meters and is a leaf. No lock is held across network I/O or a callback into the client.
package loadtest
