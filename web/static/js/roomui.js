// roomui.js: the role workflows of a room (issue 7), wired to every session.
//
// One job: connect the room features to the client: it registers the
// messages Session leaves to extensions (`lobby`, `lobby_update`, `chat`),
// follows each new Session's events (including those of automatic
// reconnects), works out the room as the UI shows it (who is here, in what
// role, microphone on or not, raised hands, the room's state, what we may
// do) and hands that to the views: the lobby card (lobby.js), the moderators'
// waiting list (waitlist.js), the chat (chat.js), the People panel
// (participants.js), the tile menus and hand marks (tiledecor.js), the
// role's controls (hostcontrols.js), the mode's layout (roomlayout.js) and a
// classroom teacher's roster of students (roster.js).
// Requests go through roomactions.js. app.js asks it for the words when the
// server ends our session (a declined waiter, an ended consultation).

import { LobbyView } from './lobby.js';
import { WaitList } from './waitlist.js';
import { ChatPanel } from './chat.js';
import { PeoplePanel } from './participants.js';
import { TileDecor } from './tiledecor.js';
import { RoleControls } from './hostcontrols.js';
import { RoomLayout } from './roomlayout.js';
import { Roster } from './roster.js';
import { RoomActions } from './roomactions.js';
import { ConfirmDialog } from './confirm.js';
import { wordsOf, roleLabel, endedText } from './roles.js';
import { t, tn } from './i18n.js';

/** Session events after which the room's picture may have changed. */
const EVENTS = ['joined', 'participant', 'participant-left', 'muted', 'media', 'screen', 'room-state', 'grants'];

export class RoomUI {
  /**
   * @param {{extensions: import('./extensions.js').Extensions, call: import('./call.js').CallScreen,
   *          banners: import('./banners.js').Banners, connection(): string}} app
   */
  constructor({ extensions, call, banners, connection }) {
    const $ = (id) => document.getElementById(id);
    this.call = call;
    this.banners = banners;
    this.connection = connection;
    this.session = null;
    this.claims = {}; // the invitation's token claims (its policy names the mode before we join)
    this.lastMode = '';
    this.knownHands = new Set(); // hands seen up, to announce new ones to moderators
    this.timer = 0;

    this.actions = new RoomActions(() => this.session, banners);
    this.confirm = new ConfirmDialog({
      dialog: $('confirm-dialog'), title: $('confirm-title'), text: $('confirm-text'), ok: $('confirm-ok'), cancel: $('confirm-cancel'),
    });
    this.announcer = $('room-announce');
    this.lobby = new LobbyView({ card: $('lobby-wait'), text: $('lobby-wait-text'), stage: $('stage'), screen: $('call-screen') });
    this.waitList = new WaitList({ card: $('waitlist'), title: $('waitlist-title'), list: $('waitlist-list') }, {
      onAdmit: (id) => this.actions.admit(id),
      onDecline: (id) => this.actions.decline(id),
      announce: (text) => this.announce(text),
      onChange: () => this.schedule(),
    });
    this.chat = new ChatPanel({
      toggle: $('toggle-chat'), badge: $('chat-badge'), panel: $('chat-panel'), close: $('chat-close'), log: $('chat-log'),
      form: $('chat-form'), input: $('chat-input'), send: $('chat-send'), note: $('chat-note'),
    }, {
      send: (text) => this.actions.chat(text),
      onOpen: () => this.people.setOpen(false),
    });
    this.people = new PeoplePanel({
      toggle: $('toggle-people'), badge: $('people-badge'), panel: $('people-panel'), close: $('people-close'),
      title: $('people-title'), tools: $('people-tools'), handsSection: $('people-hands'), handsTitle: $('people-hands-title'),
      hands: $('people-hands-list'), list: $('people-list'), muteAll: $('room-mute-all'), chatToggle: $('room-chat-toggle'),
      lockToggle: $('room-lock-toggle'), end: $('room-end'),
    }, {
      onOpen: () => this.chat.setOpen(false),
      itemsFor: (id) => this.#itemsFor(id),
      allow: (id, source) => this.actions.grant(id, source, true),
      lower: (id) => this.actions.lowerHand(id),
      muteAll: () => this.actions.muteAll(),
      setChat: (on) => this.actions.settings({ chatEnabled: on }),
      setLocked: (on) => this.actions.settings({ locked: on }),
      end: () => this.#endForEveryone(),
    });
    this.controls = new RoleControls({ hand: $('raise-hand'), end: $('end-room') }, {
      raise: (raised) => this.actions.raiseHand(raised),
      end: () => this.#endForEveryone(),
    });
    this.layout = new RoomLayout(call, $('stage'));
    // The same grant the hand queue sends; rendered again once acknowledged (roomactions remembers it).
    const grantMic = (id, on) => this.actions.grant(id, 'microphone', on).finally(() => this.schedule());
    this.roster = new Roster({ section: $('roster'), title: $('roster-title'), list: $('roster-list'), empty: $('roster-empty') }, {
      allow: (id) => grantMic(id, true),
      takeBack: (id) => grantMic(id, false),
    });
    this.decor = new TileDecor(call, {
      moderator: () => this.#moderator(),
      raised: (id) => !!this.session?.roomState?.hands?.includes(id),
      itemsFor: (id) => this.#itemsFor(id),
    });

    extensions.message('lobby', (data, s) => {
      if (s !== this.session) return;
      this.lobby.show(this.mode(), data.message);
      this.schedule();
    });
    extensions.message('lobby_update', (data, s) => {
      if (s === this.session) this.waitList.update(data.waiting);
    });
    extensions.message('chat', (data, s) => {
      if (s === this.session) this.chat.add(data, data.from === s.participantId);
    });
    extensions.session((s) => this.#attach(s));
    this.#renderToggles(false);
  }

  /** The invitation's claims (joinlink.js), for the room's words before `joined` says the mode. */
  setInvitation(claims) {
    this.claims = claims && typeof claims === 'object' ? claims : {};
  }

  /** The room's mode: the server's once joined, else the invitation's, else the last room's. */
  mode() {
    const s = this.session;
    const m = s?.roomState?.mode ?? s?.policy?.mode ?? this.claims?.policy?.mode ?? this.lastMode;
    return typeof m === 'string' ? m : '';
  }

  /**
   * The words for a join the server refused or ended while we waited (err:
   * the rejected `join`), or null for the generic "Could not join".
   */
  joinErrorText(err) {
    const code = err && err.code;
    return code === 'lobby_declined' || code === 'room_closed' ? endedText(this.mode(), code, false) : null;
  }

  /** The join screen's words when the server ended our call with code, or null for the generic title. */
  endText(code) {
    return endedText(this.mode(), code, this.actions.endedByUs);
  }

  /** Says text through the polite live region (moderators: who waits, who raised a hand). */
  announce(text) {
    if (this.announcer.textContent !== text) {
      this.announcer.textContent = text;
      return;
    }
    // The same words again: clear first, so the change is read.
    this.announcer.textContent = '';
    setTimeout(() => {
      this.announcer.textContent = text;
    }, 50);
  }

  /** Renders after the current burst of events. */
  schedule() {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = 0;
      this.#render();
    }, 0);
  }

  /** For tests: the room as the page shows it. */
  snapshot() {
    const s = this.session;
    return {
      mode: this.mode(),
      moderator: this.#moderator(),
      lobby: this.lobby.state(),
      waiting: this.waitList.snapshot(),
      roomState: s?.roomState ?? null,
      people: this.#people(),
      chat: this.chat.snapshot(),
      layout: this.layout.state(),
      roster: this.roster.snapshot(),
      confirm: this.confirm.state(),
      announced: this.announcer.textContent,
    };
  }

  #attach(s) {
    this.session = s;
    // A new call starts afresh; a reconnect keeps the chat it had.
    if (this.connection() !== 'reconnecting') {
      this.chat.clear();
      this.knownHands.clear();
    }
    this.actions.reset();
    this.lobby.hide();
    this.waitList.clear();
    this.layout.attach(s);
    for (const type of EVENTS) {
      s.addEventListener(type, () => {
        if (s !== this.session) return;
        if (type === 'joined') this.lobby.hide();
        this.layout.refresh();
        this.schedule();
      });
    }
    s.addEventListener('state', (e) => {
      if (s !== this.session) return;
      if (e.detail.state === 'joined') {
        // `joined`'s own events came while the session was still joining.
        this.layout.refresh();
        this.schedule();
      }
      if (e.detail.state !== 'left') return;
      this.lastMode = this.mode() || this.lastMode;
      this.lobby.hide();
      this.waitList.clear();
      this.confirm.dismiss();
      this.layout.attach(null);
      this.schedule();
    });
    s.addEventListener('error', (e) => {
      if (s !== this.session) return;
      this.#wordEnd(e.detail.code);
    });
    this.schedule();
  }

  /** Our own end of the call, in the room's words (app.js already showed the generic banner). */
  #wordEnd(code) {
    if (code !== 'room_closed') return;
    if (this.actions.endedByUs) {
      this.banners.dismiss('error:room_closed');
      return;
    }
    const w = wordsOf(this.mode());
    this.banners.show('error:room_closed', {
      title: endedText(this.mode(), code, false),
      text: t('room.endedFor', { host: w.host }),
      tone: 'info',
    });
  }

  #moderator() {
    const s = this.session;
    return !!(s && s.state === 'joined' && s.grants && s.grants.moderate);
  }

  #people() {
    const s = this.session;
    if (!s || s.state !== 'joined') return [];
    const mode = this.mode();
    const hands = s.roomState?.hands || [];
    const spot = s.roomState?.spotlight || '';
    const row = (id, name, role, self) => ({
      id,
      name,
      role,
      roleLabel: roleLabel(mode, role),
      self,
      moderator: role === 'host',
      mic: this.#micOf(id),
      hand: hands.indexOf(id),
      spotlight: spot === id,
      tile: self || !!this.call.grid.get(id),
    });
    const others = [...s.participants.values()].map((p) => row(p.id, p.name, p.role, false));
    others.sort((a, b) => (b.moderator - a.moderator) || a.name.localeCompare(b.name));
    const me = row(s.participantId, this.call.name || t('common.youAlone'), s.role, true);
    return [me, ...others];
  }

  #micOf(id) {
    let state = 'none';
    for (const t of this.session.tracks.values()) {
      if (t.participantId !== id || t.source !== 'microphone') continue;
      state = t.muted ? 'muted' : 'on';
      if (state === 'on') break;
    }
    return state;
  }

  /** The moderator's actions on participant id (the tile menu and the People panel). */
  #itemsFor(id) {
    const s = this.session;
    if (!this.#moderator()) return [];
    const st = s.roomState || {};
    const items = [];
    const spotlit = st.spotlight === id;
    const spotlight = {
      id: `menu-spotlight-${id}`,
      label: spotlit ? t('menu.unspotlight') : t('menu.spotlight'),
      run: () => this.actions.spotlight(spotlit ? '' : id),
    };
    if (id === s.participantId) return [spotlight];
    const p = s.participants.get(id);
    if (!p) return [];
    const name = p.name;
    if (this.mode() === 'classroom' && p.role !== 'host') {
      const allowed = this.actions.allowed(id);
      for (const [source, key] of [['microphone', 'mic'], ['camera', 'cam']]) {
        const on = allowed.has(source);
        items.push({
          id: `menu-${key}-${id}`,
          label: on ? t(`menu.take.${source}`) : t(`menu.allow.${source}`),
          run: () => this.actions.grant(id, source, !on),
        });
      }
    }
    if ((st.hands || []).includes(id)) items.push({ id: `menu-lower-${id}`, label: t('hand.lower'), run: () => this.actions.lowerHand(id) });
    items.push(spotlight);
    if (this.#micOf(id) === 'on') items.push({ id: `menu-mute-${id}`, label: t('menu.mute'), run: () => this.actions.muteMicrophone(id) });
    items.push({
      id: `menu-remove-${id}`,
      label: t('menu.remove', { room: wordsOf(this.mode()).room }),
      danger: true,
      run: async () => {
        const ok = await this.confirm.ask({
          title: t('confirm.remove.title', { name }),
          text: t('confirm.remove.text', { name, room: wordsOf(this.mode()).room }),
          confirmLabel: t('confirm.remove.ok'),
        });
        if (ok) this.actions.remove(id);
      },
    });
    return items;
  }

  async #endForEveryone() {
    const w = wordsOf(this.mode());
    const ok = await this.confirm.ask({
      title: t('confirm.end.title', { label: w.end }),
      text: t('confirm.end.text', { room: w.room }),
      confirmLabel: w.end,
    });
    if (ok) this.actions.endRoom();
  }

  #renderToggles(joined) {
    this.chat.toggle.hidden = !joined;
    this.people.toggle.hidden = !joined;
    if (!joined) {
      this.chat.setOpen(false);
      this.people.setOpen(false);
    }
  }

  #render() {
    const s = this.session;
    const joined = !!s && s.state === 'joined';
    const mode = this.mode();
    const words = wordsOf(mode);
    const moderator = this.#moderator();
    const st = (joined && s.roomState) || { chatEnabled: true, locked: false, spotlight: '', hands: [], mode };
    const hands = Array.isArray(st.hands) ? st.hands : [];
    this.#renderToggles(joined);

    // Announce new hands to moderators.
    if (joined) {
      const fresh = hands.filter((id) => !this.knownHands.has(id) && id !== s.participantId);
      this.knownHands = new Set(hands);
      if (moderator && fresh.length > 0) {
        const first = s.participants.get(fresh[0])?.name || t('common.someone');
        this.announce(fresh.length === 1 ? t('room.announce.hand', { name: first }) : tn('room.announce.hands', fresh.length));
      }
    }

    // Chat: may we write?
    if (!joined) {
      this.chat.setPermission(false, this.lobby.waiting ? t('chat.note.lobby') : t('chat.note.notInCall'));
    } else if (s.role === 'observer') {
      this.chat.setPermission(false, t('chat.note.observer'));
    } else if (s.grants && !s.grants.chat) {
      this.chat.setPermission(false, t('chat.note.notAllowed', { host: words.host }));
    } else if (st.chatEnabled === false && !moderator) {
      this.chat.setPermission(false, t('chat.note.off', { host: words.host }));
    } else if (st.chatEnabled === false) {
      this.chat.setPermission(true, t('chat.note.offModerator'));
    } else {
      this.chat.setPermission(true, '');
    }

    // The role's controls.
    const mine = joined ? hands.indexOf(s.participantId) : -1;
    this.controls.render({
      showHand: joined && !moderator && s.role !== 'observer' && (mode === 'classroom' || mode === 'conference'),
      raised: mine >= 0,
      position: mine + 1,
      showEnd: moderator && (mode === 'consultation' || mode === 'classroom'),
      endLabel: words.end,
    });

    // People, hands and room tools.
    const people = this.#people();
    const names = new Map(people.map((p) => [p.id, p]));
    this.people.update({
      people,
      hands: hands.filter((id) => names.has(id)).map((id) => ({ id, name: names.get(id).name, self: names.get(id).self })),
      moderator,
      words,
      roomState: st,
      waiting: moderator ? this.waitList.waiting.length : 0,
      canGrant: (id) => mode === 'classroom' && names.get(id)?.role !== 'host',
    });
    this.roster.update({
      shown: moderator && mode === 'classroom',
      students: people.filter((p) => !p.self && p.role === 'attendee')
        .map((p) => ({ id: p.id, name: p.name, hand: p.hand, maySpeak: this.actions.allowed(p.id).has('microphone') })),
    });
    this.decor.sync();
  }
}
