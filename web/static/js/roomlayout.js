// roomlayout.js: the stage as the room's mode wants it.
//
// One job: adapt the call screen's tiles to the room (signaling/PROTOCOL.md,
// modes table and RoomState):
//   - classroom: only the teacher (hosts and presenters), the spotlight and
//     whoever publishes get a tile; the other students are listed in the
//     People panel, not shown as a wall of empty tiles. A student gets a
//     tile the moment they publish and loses it when they stop.
//   - spotlight: the participant every client shows large (call.pin), until
//     cleared; a new screen share still takes over, as it does for everyone.
//   - consultation: with one other person and nothing pinned or shared, the
//     other person fills the stage and our own picture is a small inset; a
//     clinician who shares a screen sees it large, as the patient does, with
//     the patient beside it.
//   - the header counts everyone in the room, tiles or not.
// It drives CallScreen through its public methods and never talks to the
// server.

const LOCAL_TILE = 'local';
const ALWAYS_SHOWN = new Set(['host', 'presenter']);

export class RoomLayout {
  /**
   * @param {import('./call.js').CallScreen} call
   * @param {HTMLElement} stage  the stage element (gets stage--inset)
   */
  constructor(call, stage) {
    this.call = call;
    this.stage = stage;
    this.session = null;
    this.spotlight = ''; // the room's spotlight as we last saw it
    this.applied = false; // whether we pinned its tile (it may have had none yet)
    call.tileGate = (p) => this.#shows(p.id);
    // Pins, speaker view and screen shares change which tile is large: the inset follows.
    new MutationObserver(() => this.#updateInset()).observe(call.grid.gridEl, {
      childList: true,
      attributes: true,
      attributeFilter: ['class'],
      subtree: false,
    });
  }

  /** The session whose room we lay out (null: none; the call screen is going away). */
  attach(session) {
    this.session = session;
    this.spotlight = '';
    this.applied = false;
    if (!session) {
      this.call.setHeadcount(null);
      this.stage.classList.remove('stage--inset');
    }
  }

  mode() {
    const s = this.session;
    return (s && (s.roomState?.mode ?? s.policy?.mode)) || '';
  }

  /** Brings tiles, the spotlight, the inset and the head count in step with the room. */
  refresh() {
    const s = this.session;
    if (!s || s.state !== 'joined') return;
    for (const p of s.participants.values()) {
      const want = this.#shows(p.id);
      const has = !!this.call.grid.get(p.id);
      if (want && !has) {
        this.call.addParticipant(p);
        this.#replay(p.id);
      } else if (!want && has) {
        this.call.removeParticipant(p.id);
      }
    }
    this.#applySpotlight();
    this.call.setFeatureOwnScreen(this.mode() === 'consultation');
    this.call.setHeadcount(s.participants.size + 1);
    this.#updateInset();
  }

  /** For tests: {mode, inset, spotlight, tiles: ids of the remote person tiles}. */
  state() {
    return {
      mode: this.mode(),
      inset: this.stage.classList.contains('stage--inset'),
      spotlight: this.spotlight,
      tiles: this.call.grid.remote().filter((t) => !t.screen).map((t) => t.id),
    };
  }

  /** Whether participant id gets a tile now. */
  #shows(id) {
    const s = this.session;
    if (!s || this.mode() !== 'classroom') return true;
    const p = s.participants.get(id);
    if (!p || ALWAYS_SHOWN.has(p.role)) return true;
    if (s.roomState?.spotlight === id) return true;
    for (const t of s.tracks.values()) if (t.participantId === id) return true;
    return false;
  }

  /**
   * A tile made after the fact gets what the session already told the UI
   * (the call screen dropped it while there was no tile): the camera and
   * microphone tracks and their muted flags.
   */
  #replay(id) {
    const s = this.session;
    for (const kind of ['audio', 'video']) {
      let meta = null;
      for (const t of s.tracks.values()) {
        if (t.participantId !== id || t.kind !== kind || t.source === 'screen' || t.source === 'screen_audio') continue;
        if (!meta || s.received.has(t.id)) meta = t;
      }
      const track = meta ? s.received.get(meta.id) || null : null;
      this.call.setMedia(id, kind, track, track ? meta.id : null, 'camera');
      this.call.setMuted(id, kind, !meta || !!meta.muted);
    }
  }

  #applySpotlight() {
    const s = this.session;
    const want = s.roomState?.spotlight || '';
    const tileOf = (pid) => (pid === s.participantId ? LOCAL_TILE : pid);
    if (want === this.spotlight) {
      // Applied before its tile existed (e.g. a classroom student just shown): apply now.
      if (want && this.call.pinned === null && this.call.grid.get(tileOf(want)) && !this.applied) this.#pin(tileOf(want));
      return;
    }
    const prev = this.spotlight;
    this.spotlight = want;
    this.applied = false;
    if (want) {
      if (this.call.grid.get(tileOf(want))) this.#pin(tileOf(want));
    } else if (prev && this.call.pinned === tileOf(prev)) {
      keepFocus(() => this.call.pin(null));
    }
  }

  #pin(tileId) {
    this.applied = true;
    keepFocus(() => this.call.pin(tileId));
  }

  #updateInset() {
    const remote = this.call.grid.remote();
    const on = this.mode() === 'consultation' &&
      remote.length === 1 && !remote[0].screen && !this.call.grid.get('local-screen') &&
      !this.call.grid.featured &&
      !this.stage.classList.contains('stage--lobby');
    if (this.stage.classList.contains('stage--inset') !== on) {
      this.stage.classList.toggle('stage--inset', on);
      this.call.grid.layout();
    }
  }
}

/**
 * Runs fn, which may move tiles in the DOM (a pinned tile goes first), and
 * gives the focus back to the element that had it: moving an element blurs
 * whatever is focused inside it, and a keyboard user would be thrown back to
 * the start of the page.
 */
function keepFocus(fn) {
  const active = document.activeElement;
  fn();
  if (active && active !== document.body && active.isConnected && document.activeElement !== active) {
    active.focus({ preventScroll: true });
  }
}
