// call.js: the call screen.
//
// One job: show a room in progress: the header (room, head count), the tile
// grid (ours first, one per remote participant) and the controls bar. It
// turns session events into tile updates and button clicks into callbacks;
// it does not talk to the server itself.

import { Grid } from './grid.js';
import { Tile } from './tile.js';
import { renderButton, renderMicButton, renderCamButton } from './icons.js';
import { onAudioBlocked, unlockAudio } from './autoplay.js';

const LOCAL_ID = 'local';

export class CallScreen {
  /**
   * @param {{onToggleMic(): void, onToggleCam(): void, onLeave(): void}} actions
   */
  constructor(actions) {
    const $ = (id) => document.getElementById(id);
    this.screen = $('call-screen');
    this.roomEl = $('call-room');
    this.countEl = $('call-count');
    this.micBtn = $('toggle-mic');
    this.camBtn = $('toggle-cam');
    this.leaveBtn = $('leave');
    this.audioBtn = $('enable-audio');
    this.grid = new Grid($('stage'), $('grid'));

    renderButton(this.leaveBtn, { iconName: 'leave', text: 'Leave', ariaLabel: 'Leave the room' });
    renderButton(this.audioBtn, { iconName: 'speaker', text: 'Click to enable audio', ariaLabel: 'Enable audio from other participants' });
    this.micBtn.addEventListener('click', () => actions.onToggleMic());
    this.camBtn.addEventListener('click', () => actions.onToggleCam());
    this.leaveBtn.addEventListener('click', () => actions.onLeave());
    // Browsers refuse sound until the page had a user gesture; this click is one.
    this.audioBtn.addEventListener('click', () => unlockAudio());
    onAudioBlocked((blocked) => {
      this.audioBtn.hidden = !blocked;
    });
  }

  /** Shows the screen for room, with our own tile from stream (may be null). */
  show(room, name, stream) {
    this.roomEl.textContent = room;
    this.screen.hidden = false;
    document.title = `${room} \u00b7 Huddle`;
    const tile = this.grid.get(LOCAL_ID) || this.grid.add(new Tile({ id: LOCAL_ID, name, local: true }));
    tile.setName(name);
    tile.setStream(stream);
    this.#updateCount();
    // Recompute now that the stage has its real size.
    this.grid.layout();
  }

  hide() {
    this.screen.hidden = true;
    this.grid.clear();
    this.audioBtn.hidden = true;
    document.title = 'Huddle';
  }

  /** Renders the controls and our tile's badges from the local media state. */
  setLocalState({ micMuted, camOff, hasAudio, hasVideo }) {
    renderMicButton(this.micBtn, micMuted || !hasAudio, hasAudio);
    renderCamButton(this.camBtn, camOff || !hasVideo, hasVideo);
    const tile = this.grid.get(LOCAL_ID);
    if (tile) {
      tile.setMicMuted(micMuted || !hasAudio);
      tile.setCameraOff(camOff || !hasVideo);
    }
  }

  addParticipant(p) {
    const tile = this.grid.get(p.id);
    if (tile) {
      tile.setName(p.name);
      return;
    }
    const t = new Tile({ id: p.id, name: p.name });
    // Until track metadata says otherwise, a newcomer has no audio/video.
    t.setMicMuted(true);
    t.setCameraOff(true);
    this.grid.add(t);
    this.#updateCount();
  }

  removeParticipant(id) {
    this.grid.remove(id);
    this.#updateCount();
  }

  setMedia(participantId, kind, track) {
    this.grid.get(participantId)?.setTrack(kind, track);
  }

  setMuted(participantId, kind, muted) {
    const tile = this.grid.get(participantId);
    if (!tile) return;
    if (kind === 'audio') tile.setMicMuted(muted);
    else tile.setCameraOff(muted);
  }

  /** [{participantId, name, videoWidth, videoHeight}] for tests. */
  remoteTiles() {
    return this.grid.remote().map((t) => {
      const { width, height } = t.videoSize();
      return { participantId: t.id, name: t.name, videoWidth: width, videoHeight: height };
    });
  }

  #updateCount() {
    const n = this.grid.tiles.size;
    this.countEl.textContent = n === 1 ? 'Only you' : `${n} people`;
  }
}
