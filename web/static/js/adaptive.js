// adaptive.js: adaptive stream.
//
// One job: tell the server, per video track we receive, how we show it
// (`track_settings`, signaling/PROTOCOL.md): the size of its tile in device
// pixels, whether anyone can see it (a tile scrolled out of view or a hidden
// browser tab needs no video at all), and how much it matters (a pinned tile
// or a screen share before thumbnails). The server then forwards the smallest
// simulcast layer that still looks sharp, which is what keeps a ten-person
// call usable on a clinic's or a pupil's weak link.
//
// It sends only what changed meaningfully, and waits for resizing to settle
// (a window drag fires dozens of resize events) before it does.

/** Quiet time after the last change before settings are sent. */
export const SETTLE_MS = 300;
/** A size change smaller than this fraction is not worth a layer switch. */
const MIN_SIZE_CHANGE = 0.15;

export class AdaptiveStream {
  /**
   * @param {(trackId: string, settings: {paused: boolean, priority: string, width?: number, height?: number}) => void} send
   */
  constructor(send) {
    this.send = send;
    this.entries = new Map(); // trackId -> {trackId, el, priority, visible, width, height, last, timer}
    this.byEl = new Map(); // observed element -> entry
    this.manual = new Set(); // trackIds whose settings a test (or a future UI) set by hand

    this.resizer = new ResizeObserver((records) => {
      for (const r of records) {
        const e = this.byEl.get(r.target);
        if (!e) continue;
        const { width, height } = deviceSize(r);
        e.width = width;
        e.height = height;
        this.#schedule(e);
      }
    });
    this.viewer = new IntersectionObserver((records) => {
      for (const r of records) {
        const e = this.byEl.get(r.target);
        if (!e) continue;
        e.visible = r.isIntersecting;
        this.#schedule(e);
      }
    });
    this.onVisibility = () => {
      for (const e of this.entries.values()) this.#schedule(e);
    };
    document.addEventListener('visibilitychange', this.onVisibility);
  }

  /**
   * Starts describing trackId as shown by el (its <video>). Replaces an
   * earlier element for the same track.
   * @param {string} trackId
   * @param {Element} el
   * @param {'high'|'normal'|'low'} priority
   */
  observe(trackId, el, priority = 'normal') {
    const old = this.entries.get(trackId);
    if (old && old.el === el) {
      this.setPriority(trackId, priority);
      return;
    }
    if (old) this.unobserve(trackId);
    // Until the observers report, assume a visible tile of unknown size.
    const e = { trackId, el, priority, visible: true, width: 0, height: 0, last: null, timer: 0 };
    this.entries.set(trackId, e);
    this.byEl.set(el, e);
    this.resizer.observe(el);
    this.viewer.observe(el);
  }

  /** Stops describing trackId (its tile went away or shows another track). */
  unobserve(trackId) {
    const e = this.entries.get(trackId);
    if (!e) return;
    clearTimeout(e.timer);
    this.entries.delete(trackId);
    if (this.byEl.get(e.el) === e) {
      this.byEl.delete(e.el);
      this.resizer.unobserve(e.el);
      this.viewer.unobserve(e.el);
    }
  }

  setPriority(trackId, priority) {
    const e = this.entries.get(trackId);
    if (!e || e.priority === priority) return;
    e.priority = priority;
    this.#schedule(e);
  }

  /**
   * Hands trackId's settings to someone else (window.huddle.setTrackSettings):
   * from now on this module sends nothing for it, so it cannot undo them.
   */
  hold(trackId) {
    this.manual.add(trackId);
    const e = this.entries.get(trackId);
    if (e) clearTimeout(e.timer);
  }

  /** What was last sent for trackId, for tests; null if nothing yet. */
  lastSent(trackId) {
    return this.entries.get(trackId)?.last ?? null;
  }

  /** Forgets every track (leaving the room). */
  clear() {
    for (const trackId of [...this.entries.keys()]) this.unobserve(trackId);
    this.manual.clear();
  }

  destroy() {
    this.clear();
    this.resizer.disconnect();
    this.viewer.disconnect();
    document.removeEventListener('visibilitychange', this.onVisibility);
  }

  #desired(e) {
    const paused = document.visibilityState === 'hidden' || !e.visible;
    const s = { paused, priority: e.priority };
    if (!paused && e.width > 0 && e.height > 0) {
      s.width = e.width;
      s.height = e.height;
    }
    return s;
  }

  #schedule(e) {
    if (this.manual.has(e.trackId)) return;
    const want = this.#desired(e);
    clearTimeout(e.timer);
    e.timer = 0;
    if (!meaningful(e.last, want)) return;
    // A tile coming back into view should get its picture at once; every
    // other change can wait for things to settle.
    if (e.last && e.last.paused && !want.paused) {
      this.#flush(e);
      return;
    }
    e.timer = setTimeout(() => this.#flush(e), SETTLE_MS);
  }

  #flush(e) {
    e.timer = 0;
    if (this.manual.has(e.trackId) || this.entries.get(e.trackId) !== e) return;
    const want = this.#desired(e);
    if (!meaningful(e.last, want)) return;
    e.last = want;
    this.send(e.trackId, want);
  }
}

/** Whether settings want differ from last enough to tell the server. */
function meaningful(last, want) {
  if (!last) return true;
  if (last.paused !== want.paused || last.priority !== want.priority) return true;
  if (want.paused) return false; // the size of a hidden tile does not matter
  if (!last.width || !want.width) return !!want.width !== !!last.width;
  return changed(last.width, want.width) || changed(last.height, want.height);
}

function changed(a, b) {
  return Math.abs(a - b) / Math.max(a, b) >= MIN_SIZE_CHANGE;
}

/** The observed box in device pixels (what the server compares with layer sizes). */
function deviceSize(record) {
  const dev = record.devicePixelContentBoxSize && record.devicePixelContentBoxSize[0];
  if (dev) return { width: Math.round(dev.inlineSize), height: Math.round(dev.blockSize) };
  const dpr = window.devicePixelRatio || 1;
  return { width: Math.round(record.contentRect.width * dpr), height: Math.round(record.contentRect.height * dpr) };
}
