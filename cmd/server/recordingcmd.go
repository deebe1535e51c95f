package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"unicode"

	"github.com/huddlehq/huddle/signaling/recording"
)

// `server recording mux DIR` puts a recording's tracks (one file each, see signaling/recording) into one
// Matroska file with ffmpeg: no re-encoding, each track delayed by its start offset, each stream titled with
// its participant and source so that a player can pick tracks.

const recordingUsage = `usage: server recording mux [-o OUT] [-f] [-ffmpeg PATH] DIR

  Puts every track of the recording in DIR (its manifest.json and one media file
  per track) into ONE Matroska file, without re-encoding: each track starts at its
  offset in the recording and is titled with its participant and source, so that a
  player can pick tracks. Needs ffmpeg (Debian: apt-get install ffmpeg).

flags:
  -o OUT         the file to write (default DIR/recording.mkv); Matroska whatever its name
  -f             overwrite OUT if it exists
  -ffmpeg PATH   the ffmpeg to run (default: ffmpeg on the PATH)
`

// ffmpegInstallHint is what to do when there is no ffmpeg.
const ffmpegInstallHint = "install ffmpeg (Debian: apt-get install ffmpeg)"

// defaultMuxName is the output's name in the recording's directory when -o is not given.
const defaultMuxName = "recording.mkv"

// ffmpegTailLines is how much of a failed ffmpeg's stderr goes into the error.
const ffmpegTailLines = 20

// cmdRecording runs `server recording VERB ...`; the only verb is mux.
func cmdRecording(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, recordingUsage)
		return errors.New("recording: want `recording mux DIR`")
	}
	switch args[0] {
	case "mux":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return cmdRecordingMux(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stderr, recordingUsage)
		return flag.ErrHelp
	default:
		fmt.Fprint(stderr, recordingUsage)
		return fmt.Errorf("recording: unknown verb %q (want mux)", args[0])
	}
}

// muxOptions are mux's flags and argument.
type muxOptions struct {
	dir    string // the recording's directory
	out    string // the file to write
	force  bool   // overwrite out
	ffmpeg string // the ffmpeg to run; "" finds it on the PATH
}

func cmdRecordingMux(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("server recording mux", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() { fmt.Fprint(stderr, recordingUsage) }
	var o muxOptions
	fset.StringVar(&o.out, "o", "", "the file to write (default DIR/"+defaultMuxName+")")
	fset.BoolVar(&o.force, "f", false, "overwrite OUT if it exists")
	fset.StringVar(&o.ffmpeg, "ffmpeg", "", "the ffmpeg to run (default: ffmpeg on the PATH)")
	// Flags and DIR in any order, as the other sub-commands take them.
	var pos []string
	for {
		if err := fset.Parse(args); err != nil {
			return err
		}
		if fset.NArg() == 0 {
			break
		}
		pos = append(pos, fset.Arg(0))
		args = fset.Args()[1:]
	}
	if len(pos) != 1 {
		fset.Usage()
		return fmt.Errorf("recording mux: want one DIR, got %d arguments", len(pos))
	}
	o.dir = pos[0]
	res, err := muxRecording(ctx, o)
	if res.warnings != "" {
		fmt.Fprintf(stderr, "ffmpeg:\n%s\n", indent(res.warnings))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d tracks\n", res.out, len(res.titles))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for i, tr := range res.tracks {
		fmt.Fprintf(tw, "  %d\t%s\t%s\t+%ss\n", i, orDash(tr.Kind), res.titles[i], formatSeconds(tr.StartOffset))
	}
	return tw.Flush()
}

// muxResult is what a mux did.
type muxResult struct {
	out      string            // the file written
	tracks   []recording.Track // in the output's stream order
	titles   []string          // each stream's title
	warnings string            // the end of ffmpeg's stderr when it succeeded with something to say
}

// muxRecording checks the recording in o.dir (a manifest is input: its file names are checked before
// anything runs), then runs ffmpeg into a temporary file beside the output, renamed to it on success.
func muxRecording(ctx context.Context, o muxOptions) (muxResult, error) {
	var res muxResult
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return res, fmt.Errorf("recording mux: %w", err)
	}
	if fi, err := os.Stat(dir); err != nil {
		return res, fmt.Errorf("recording mux: %w", err)
	} else if !fi.IsDir() {
		return res, fmt.Errorf("recording mux: %s is not a directory (want a recording's directory, holding %s)", o.dir, recording.ManifestName)
	}
	m, err := recording.ReadManifest(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("recording mux: %s is not a recording: no %s in it", o.dir, recording.ManifestName)
	} else if err != nil {
		return res, fmt.Errorf("recording mux: reading %s: %w", recording.ManifestName, err)
	}
	if len(m.Tracks) == 0 {
		return res, fmt.Errorf("recording mux: %s lists no tracks", filepath.Join(o.dir, recording.ManifestName))
	}
	out := o.out
	if out == "" {
		out = filepath.Join(dir, defaultMuxName)
	}
	if out, err = filepath.Abs(out); err != nil {
		return res, fmt.Errorf("recording mux: %w", err)
	}
	if err := checkTracks(dir, out, m.Tracks); err != nil {
		return res, err
	}
	if _, err := os.Lstat(out); err == nil {
		if !o.force {
			return res, fmt.Errorf("recording mux: %s exists (-f overwrites it)", out)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("recording mux: %w", err)
	}
	ffmpeg, err := findFFmpeg(o.ffmpeg)
	if err != nil {
		return res, err
	}

	// ffmpeg writes a temporary file beside OUT: a failed or interrupted run leaves nothing behind, and an
	// existing OUT (with -f) is replaced only by a complete file.
	tmpf, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.part")
	if err != nil {
		return res, fmt.Errorf("recording mux: %w", err)
	}
	tmp := tmpf.Name()
	tmpf.Close()
	defer os.Remove(tmp) // a no-op once renamed
	// Recordings are personal data: the output is readable as the manifest is (0640), not by everyone.
	if err := os.Chmod(tmp, 0o640); err != nil {
		return res, fmt.Errorf("recording mux: %w", err)
	}
	args, titles := ffmpegMuxArgs(m, dir, tmp)
	cmd := exec.CommandContext(ctx, ffmpeg, args...)
	var stderrTail tailBuffer
	cmd.Stdin = nil // -nostdin too: ffmpeg must not read the terminal
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderrTail
	runErr := cmd.Run()
	tail := stderrTail.lastLines(ffmpegTailLines)
	if runErr != nil {
		if ctx.Err() != nil {
			return res, fmt.Errorf("recording mux: interrupted (%s not written)", out)
		}
		if tail == "" {
			return res, fmt.Errorf("recording mux: %s: %w", ffmpeg, runErr)
		}
		return res, fmt.Errorf("recording mux: %s: %w:\n%s", ffmpeg, runErr, indent(tail))
	}
	if !o.force { // OUT may have appeared while ffmpeg ran
		if _, err := os.Lstat(out); err == nil {
			return res, fmt.Errorf("recording mux: %s appeared while muxing (-f overwrites it)", out)
		}
	}
	if err := os.Rename(tmp, out); err != nil {
		return res, fmt.Errorf("recording mux: %w", err)
	}
	res.out, res.tracks, res.titles, res.warnings = out, m.Tracks, titles, tail
	return res, nil
}

// checkTracks checks that every track's file is a plain name of a regular file in dir, named once, and
// neither the manifest nor out; and that its start offset is not negative.
func checkTracks(dir, out string, tracks []recording.Track) error {
	outInfo, _ := os.Stat(out) // nil when out does not exist yet
	seen := make(map[string]bool, len(tracks))
	for i, tr := range tracks {
		if err := checkTrackFile(tr.File); err != nil {
			return fmt.Errorf("recording mux: track %d: file %q: %w", i, tr.File, err)
		}
		if seen[tr.File] {
			return fmt.Errorf("recording mux: track %d: file %q is listed twice", i, tr.File)
		}
		seen[tr.File] = true
		if tr.File == recording.ManifestName {
			return fmt.Errorf("recording mux: track %d: file %q is the manifest", i, tr.File)
		}
		path := filepath.Join(dir, tr.File)
		fi, err := os.Stat(path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("recording mux: track %d: file %q is missing from %s", i, tr.File, dir)
			}
			return fmt.Errorf("recording mux: track %d: %w", i, err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("recording mux: track %d: file %q is not a regular file", i, tr.File)
		}
		if outInfo != nil && os.SameFile(fi, outInfo) {
			return fmt.Errorf("recording mux: track %d: file %q is the output %s; pick another -o", i, tr.File, out)
		}
		if tr.StartOffset < 0 {
			return fmt.Errorf("recording mux: track %d: file %q: negative start offset %gs", i, tr.File, tr.StartOffset)
		}
	}
	return nil
}

// checkTrackFile checks that name, from a manifest, is a plain file name: nothing that leaves the
// recording's directory or that ffmpeg could read as an option.
func checkTrackFile(name string) error {
	switch {
	case name == "":
		return errors.New("no file name")
	case name == "." || name == "..":
		return errors.New("not a file name")
	case strings.ContainsAny(name, `/\`) || name != filepath.Base(name):
		return errors.New("not a plain file name (has a path separator)")
	case strings.HasPrefix(name, "-"):
		return errors.New("starts with '-'")
	case strings.ContainsFunc(name, unicode.IsControl):
		return errors.New("has a control character")
	case filepath.VolumeName(name) != "":
		return errors.New("has a volume name")
	}
	return nil
}

// findFFmpeg finds the ffmpeg to run: path when given, else ffmpeg on the PATH.
func findFFmpeg(path string) (string, error) {
	if path == "" {
		p, err := exec.LookPath("ffmpeg")
		if err != nil {
			return "", fmt.Errorf("recording mux: no ffmpeg on the PATH: %s, or pass -ffmpeg PATH", ffmpegInstallHint)
		}
		return p, nil
	}
	p, err := exec.LookPath(path)
	if err != nil {
		return "", fmt.Errorf("recording mux: -ffmpeg %s: %w (%s)", path, err, ffmpegInstallHint)
	}
	return p, nil
}

// ffmpegMuxArgs returns the arguments to ffmpeg (after its name) that put m's tracks, files in dir, into
// one Matroska file out, and each stream's title. Paths go in as file: URLs of absolute paths, so that
// ffmpeg never reads one as an option or another protocol. Each input has one stream (a track), so
// input N is output stream N.
func ffmpegMuxArgs(m recording.Manifest, dir, out string) (args, titles []string) {
	names := make(map[string]string, len(m.Participants))
	for _, p := range m.Participants {
		names[p.ID] = p.Name
	}
	args = []string{"-hide_banner", "-nostdin", "-loglevel", "warning", "-y"}
	for _, tr := range m.Tracks {
		args = append(args, "-itsoffset", formatSeconds(tr.StartOffset), "-i", "file:"+filepath.Join(dir, tr.File))
	}
	for i := range m.Tracks {
		args = append(args, "-map", strconv.Itoa(i))
	}
	args = append(args, "-c", "copy")
	if m.Room != "" {
		args = append(args, "-metadata", "title="+cleanTitle("Huddle recording of "+m.Room))
	}
	for i, tr := range m.Tracks {
		title := trackTitle(tr, names)
		titles = append(titles, title)
		args = append(args, fmt.Sprintf("-metadata:s:%d", i), "title="+title)
	}
	args = append(args, "-f", "matroska", "file:"+out)
	return args, titles
}

// trackTitle names a track for a player's track menu: the participant's name (else id) and the source.
func trackTitle(tr recording.Track, names map[string]string) string {
	who := names[tr.ParticipantID]
	if strings.TrimSpace(who) == "" {
		who = tr.ParticipantID
	}
	if strings.TrimSpace(who) == "" {
		who = "unknown participant"
	}
	what := tr.Source
	if what == "" {
		what = tr.Kind
	}
	if what == "" {
		return cleanTitle(who)
	}
	return cleanTitle(who + " (" + what + ")")
}

// cleanTitle drops control characters (newlines) from a title, which comes from a manifest.
func cleanTitle(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// formatSeconds formats seconds for -itsoffset: plain decimal, never an exponent.
func formatSeconds(s float64) string {
	return strconv.FormatFloat(s, 'f', -1, 64)
}

// tailBuffer keeps the last bytes written to it: ffmpeg's stderr, bounded however long it runs.
type tailBuffer struct {
	buf []byte
}

const tailBufferMax = 64 << 10

func (b *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) > tailBufferMax {
		p = p[len(p)-tailBufferMax:]
	}
	if over := len(b.buf) + len(p) - tailBufferMax; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	b.buf = append(b.buf, p...)
	return n, nil
}

// lastLines returns the last n non-empty lines written.
func (b *tailBuffer) lastLines(n int) string {
	var lines []string
	for _, l := range strings.Split(string(bytes.TrimSpace(b.buf)), "\n") {
		if l = strings.TrimRight(l, "\r "); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
