// meter.js: the live microphone level on the join screen.
//
// One job: show how loud the microphone is right now, so people see that the
// right microphone works before they join (the commonest problem in a first
// call). A WebAudio AnalyserNode reads the track; the level is the peak of the
// last few tens of milliseconds on a decibel scale (-60 dBFS empty, 0 dBFS
// full), which moves with speech the way people expect. It reads on a timer,
// not on animation frames, so it keeps going in a tab that is not painted; it
// stops when no track is attached.

const READ_MS = 100;
const FLOOR_DB = -60;
/** Each read falls back at most this much, so the bar decays smoothly between syllables. */
const FALL_PER_READ = 0.12;

export class MicMeter {
  /**
   * @param {HTMLElement} root    the meter's container (hidden without a microphone)
   * @param {HTMLElement} gauge   the element with role="meter" (aria-valuenow is kept in step)
   */
  constructor(root, gauge) {
    this.root = root;
    this.gauge = gauge;
    this.ctx = null;
    this.source = null;
    this.analyser = null;
    this.buf = null;
    this.timer = 0;
    this.value = 0; // 0..1, what the bar shows
    this.track = null;
    // Browsers may start an AudioContext suspended until the page had a user
    // gesture; any click on the page is one.
    this.onGesture = () => this.ctx?.resume().catch(() => {});
    document.addEventListener('pointerdown', this.onGesture, { capture: true });
    document.addEventListener('keydown', this.onGesture, { capture: true });
  }

  /** Shows the level of track (an audio MediaStreamTrack), or hides the meter (null). */
  attach(track) {
    if (track === this.track) return;
    this.#stopReading();
    this.track = track;
    this.root.hidden = !track;
    if (!track) return;
    try {
      if (!this.ctx) this.ctx = new AudioContext();
      this.ctx.resume().catch(() => {});
      this.source = this.ctx.createMediaStreamSource(new MediaStream([track]));
      this.analyser = this.ctx.createAnalyser();
      this.analyser.fftSize = 1024;
      this.buf = new Float32Array(this.analyser.fftSize);
      // Not connected to the output: we measure, we never play ourselves back.
      this.source.connect(this.analyser);
      this.timer = setInterval(() => this.#read(), READ_MS);
    } catch (err) {
      console.warn('huddle: microphone level unavailable', err);
      this.root.hidden = true;
    }
  }

  /** The level shown now, 0..1 (for tests). */
  level() {
    return this.value;
  }

  #read() {
    if (!this.analyser) return;
    this.analyser.getFloatTimeDomainData(this.buf);
    let peak = 0;
    for (const x of this.buf) peak = Math.max(peak, Math.abs(x));
    const db = peak > 0 ? 20 * Math.log10(peak) : FLOOR_DB;
    const now = Math.min(1, Math.max(0, (db - FLOOR_DB) / -FLOOR_DB));
    this.value = now >= this.value ? now : Math.max(now, this.value - FALL_PER_READ);
    const pct = Math.round(this.value * 100);
    this.gauge.style.setProperty('--level', `${pct}%`);
    this.gauge.setAttribute('aria-valuenow', String(pct));
  }

  #stopReading() {
    clearInterval(this.timer);
    this.timer = 0;
    if (this.source) this.source.disconnect();
    this.source = null;
    this.analyser = null;
    this.value = 0;
    this.gauge.style.setProperty('--level', '0%');
    this.gauge.setAttribute('aria-valuenow', '0');
  }
}
