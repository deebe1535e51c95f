package loadtest

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH         = 760, 200
	padL, padR, padT, padB = 56, 12, 12, 28
)

// series is one line of a chart.
type series struct {
	name, color string
	values      []float64
}

// WriteHTML writes a self-contained page (inline SVG, no scripts, no external resources) with the
// bitrate, loss and latency over time, the measurement window shaded, and the text report.
func (r *Report) WriteHTML(w io.Writer) error {
	n := len(r.Timeline)
	t, rx, per, loss, p50, p99 := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	winStart, winEnd := -1.0, -1.0
	for i, s := range r.Timeline {
		t[i], rx[i], per[i], loss[i], p50[i], p99[i] = s.T, s.RxMbps, s.ReceiverKbps, s.LossPct, s.LatencyP50Ms, s.LatencyP99Ms
		if s.Measuring {
			if winStart < 0 {
				winStart = max(s.T-1, 0)
			}
			winEnd = s.T
		}
	}
	type section struct {
		Title string
		SVG   template.HTML
	}
	sections := []section{
		{"Received, all receivers (Mbit/s)", svgChart(t, winStart, winEnd, series{"total", "#1f77b4", rx})},
		{"Bitrate per receiver, mean (kbit/s)", svgChart(t, winStart, winEnd, series{"per receiver", "#2ca02c", per})},
		{"Loss after retransmission (% of the sequence numbers judged that second)", svgChart(t, winStart, winEnd, series{"loss", "#d62728", loss})},
		{"Forwarding latency (ms)", svgChart(t, winStart, winEnd, series{"p50", "#1f77b4", p50}, series{"p99", "#ff7f0e", p99})},
	}
	var text strings.Builder
	if err := r.WriteText(&text); err != nil {
		return err
	}
	page, err := template.New("page").Parse(pageHTML)
	if err != nil {
		return fmt.Errorf("loadtest: html template: %w", err)
	}
	return page.Execute(w, map[string]any{"Title": "Huddle load test: " + r.Scenario, "Sections": sections,
		"Text": text.String(), "Started": r.Started.Format("2006-01-02 15:04:05")})
}

// svgChart draws lines over time t (seconds) with the window [winStart, winEnd] shaded (none if
// winStart < 0). Labels are escaped; the numbers are formatted here.
func svgChart(t []float64, winStart, winEnd float64, lines ...series) template.HTML {
	x0, y0, x1, y1 := float64(padL), float64(padT), float64(chartW-padR), float64(chartH-padB)
	tMax := 1.0
	if len(t) > 0 {
		tMax = math.Max(t[len(t)-1], 1)
	}
	// The y range fits the measurement window when there is one: the joins' first packets (stored
	// keyframes, handshakes) would otherwise flatten the steady state; values above it are drawn at the top.
	yMax := 0.0
	for _, l := range lines {
		for j, v := range l.values {
			if winStart < 0 || (t[j] > winStart && t[j] <= winEnd) {
				yMax = math.Max(yMax, v)
			}
		}
	}
	yMax = niceCeil(yMax)
	x := func(v float64) float64 { return x0 + (x1-x0)*v/tMax }
	y := func(v float64) float64 { return y1 - (y1-y0)*math.Min(v, yMax)/yMax }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg width="%d" height="%d" viewBox="0 0 %d %d" role="img">`, chartW, chartH, chartW, chartH)
	if winStart >= 0 {
		fmt.Fprintf(&b, `<rect class="win" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, x(winStart), y0, x(winEnd)-x(winStart), y1-y0)
	}
	for i := 0; i <= 4; i++ {
		v := yMax * float64(i) / 4
		fmt.Fprintf(&b, `<line class="grid" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/><text x="%.1f" y="%.1f" text-anchor="end">%s</text>`,
			x0, x1, y(v), y(v), x0-6, y(v)+4, trimFloat(v))
	}
	step := niceCeil(tMax / 8)
	for v := 0.0; v <= tMax+1e-9; v += step {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s s</text>`, x(v), y1+16, trimFloat(v))
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/><line class="axis" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>`,
		x0, x1, y1, y1, x0, x0, y0, y1)
	for i, l := range lines {
		b.WriteString(`<polyline fill="none" stroke-width="1.5" stroke="` + template.HTMLEscapeString(l.color) + `" points="`)
		for j, v := range l.values {
			fmt.Fprintf(&b, "%.1f,%.1f ", x(t[j]), y(v))
		}
		b.WriteString(`"/>`)
		lx := x1 - 90*float64(len(lines)-i)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="10" height="10" fill="%s"/><text x="%.1f" y="%.1f">%s</text>`,
			lx, y0+2, template.HTMLEscapeString(l.color), lx+14, y0+11, template.HTMLEscapeString(l.name))
	}
	if len(t) == 0 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">no samples</text>`, x0+10, y0+20)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built above from numbers and escaped labels
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten, for axis ranges.
func niceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	v = math.Max(v, 1e-3)
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5} {
		if m*p >= v*(1-1e-12) {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	s := strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
	if s == "" || s == "-0" {
		return "0"
	}
	return s
}

const pageHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:900px}
h1{font-size:20px} h2{font-size:15px;margin:18px 0 4px}
svg{background:#fafafa;border:1px solid #ddd}
.axis{stroke:#999;stroke-width:1} .grid{stroke:#e4e4e4;stroke-width:1}
text{font-size:11px;fill:#555} .win{fill:#e8f0fe}
pre{background:#f6f6f6;padding:12px;overflow-x:auto;font-size:12px}
</style></head><body>
<h1>{{.Title}}</h1>
<p>Started {{.Started}}. One sample a second; the shaded band is the measurement window (everyone joined).</p>
{{range .Sections}}<h2>{{.Title}}</h2>
{{.SVG}}
{{end}}
<h2>Report</h2>
<pre>{{.Text}}</pre>
</body></html>
`
