// invite.js: "Invite" in the call — a host makes an invitation link without a shell.
//
// One job: for a participant with the moderate grant, a header button opens a
// small panel: who the link is for (patient/attendee, presenter, observer) and
// how long it is valid; "Create link" asks the server (`create_invite`,
// PROTOCOL.md), which signs a token for this room only, and the panel shows
// the link with a Copy button. The link is never logged here.
//
// Before joining, the same panel opens from the pre-join page for whoever
// holds a host's link (or, in dev mode, anyone on the server's machine): the
// request goes to POST /invite with the link's token as bearer, so a
// clinician can send the patient's link before entering the consultation.
// The panel lives outside both screens (it is fixed on the page) so that it
// shows over either.

import { renderButton } from './icons.js';
import { t, formatTime, language } from './i18n.js';

const ROLES = ['attendee', 'presenter', 'observer'];
const EXPIRIES = [
  { seconds: 3600, key: 'invite.expiry.hour' },
  { seconds: 86400, key: 'invite.expiry.day' },
  { seconds: 604800, key: 'invite.expiry.week' },
];

export class InvitePanel {
  /**
   * @param {import('./extensions.js').Extensions} extensions  to follow every session
   * @param {HTMLElement} tools  the call header's tool buttons
   */
  constructor(extensions, tools) {
    this.session = null;
    this.toggle = document.createElement('button');
    this.toggle.type = 'button';
    this.toggle.className = 'btn btn--header';
    this.toggle.id = 'toggle-invite';
    this.toggle.hidden = true;
    this.toggle.setAttribute('aria-expanded', 'false');
    this.toggle.setAttribute('aria-controls', 'invite-panel');
    renderButton(this.toggle, { iconName: 'next', text: t('invite.button'), ariaLabel: t('invite.title') });
    tools.prepend(this.toggle);
    this.panel = this.#buildPanel();
    document.body.append(this.panel);
    this.prejoin = null; // {room(): string, token: string} while the pre-join page offers Invite
    this.toggle.addEventListener('click', () => this.setOpen(this.panel.hidden));
    extensions.session((s) => {
      this.session = s;
      const update = () => this.#update();
      for (const type of ['joined', 'grants', 'state']) s.addEventListener(type, update);
      update();
    });
  }

  #buildPanel() {
    const panel = document.createElement('aside');
    panel.className = 'invite-panel stats-panel';
    panel.id = 'invite-panel';
    panel.hidden = true;
    panel.setAttribute('aria-labelledby', 'invite-title');
    panel.innerHTML = `
      <div class="stats-panel__head">
        <h2 class="stats-panel__title" id="invite-title"></h2>
        <button type="button" class="btn btn--small" id="invite-close"></button>
      </div>
      <div class="invite-panel__body">
        <label class="field field--compact"><span class="field__label" id="invite-role-label"></span>
          <select class="field__input" id="invite-role"></select></label>
        <label class="field field--compact"><span class="field__label" id="invite-expiry-label"></span>
          <select class="field__input" id="invite-expiry"></select></label>
        <button type="button" class="btn btn--primary" id="invite-create"></button>
        <p class="form-error" id="invite-error" role="alert" hidden></p>
        <div class="invite-panel__result" id="invite-result" hidden>
          <input class="field__input" id="invite-url" readonly aria-labelledby="invite-title">
          <button type="button" class="btn" id="invite-copy"></button>
          <p class="field__hint" id="invite-expires" role="status"></p>
        </div>
      </div>`;
    const $ = (id) => panel.querySelector(`#${id}`);
    $('invite-title').textContent = t('invite.title');
    renderButton($('invite-close'), { iconName: 'close', text: t('invite.close'), ariaLabel: t('invite.close') });
    $('invite-role-label').textContent = t('invite.role');
    $('invite-expiry-label').textContent = t('invite.expiry');
    for (const role of ROLES) $('invite-role').append(new Option(t(`invite.role.${role}`), role));
    for (const e of EXPIRIES) $('invite-expiry').append(new Option(t(e.key), String(e.seconds)));
    $('invite-expiry').value = '86400';
    $('invite-create').textContent = t('invite.create');
    $('invite-copy').textContent = t('invite.copy');
    $('invite-close').addEventListener('click', () => {
      this.setOpen(false);
      (this.joined() ? this.toggle : this.prejoinToggle || this.toggle).focus();
    });
    $('invite-create').addEventListener('click', () => this.#create($));
    $('invite-copy').addEventListener('click', async () => {
      const url = $('invite-url').value;
      try {
        await navigator.clipboard.writeText(url);
        $('invite-copy').textContent = t('invite.copied');
      } catch {
        // No clipboard permission (or not a secure context): select it for Ctrl+C instead.
        $('invite-url').select();
        $('invite-copy').textContent = t('invite.selectToCopy');
      }
    });
    return panel;
  }

  setOpen(open) {
    this.panel.hidden = !open;
    this.toggle.setAttribute('aria-expanded', String(open));
    this.prejoinToggle?.setAttribute('aria-expanded', String(open));
  }

  /** Whether we are in the call (the in-call Invite asks over the socket). */
  joined() {
    return !!this.session && this.session.state === 'joined';
  }

  /**
   * Offers Invite on the pre-join page with button, for the room room() names, asking with token (the
   * invitation's; '' in dev mode). Offered only to whom a host's link was given (mayInvite).
   */
  offerBeforeJoining(button, room, token, mayInvite) {
    this.prejoinToggle = button;
    this.prejoin = { room, token };
    renderButton(button, { iconName: 'next', text: t('invite.button'), ariaLabel: t('invite.title') });
    button.setAttribute('aria-controls', 'invite-panel');
    button.setAttribute('aria-expanded', 'false');
    button.hidden = !mayInvite;
    button.addEventListener('click', () => this.setOpen(this.panel.hidden));
  }

  /** Asks the server for a link: over the socket in the call, else over HTTP with the invitation's token. */
  async #request(role, ttlSeconds) {
    if (this.joined()) return this.session.signaling.request('create_invite', { role, ttlSeconds }, 'invite');
    const headers = { 'Content-Type': 'application/json' };
    if (this.prejoin.token) headers.Authorization = `Bearer ${this.prejoin.token}`;
    const resp = await fetch('/invite', { method: 'POST', headers, body: JSON.stringify({ room: this.prejoin.room(), role, ttlSeconds }) });
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) throw Object.assign(new Error(body.message || resp.statusText), { code: body.code || 'internal' });
    return body;
  }

  #update() {
    const s = this.session;
    const may = !!s && s.state === 'joined' && !!s.grants && !!s.grants.moderate;
    this.toggle.hidden = !may;
    // In the call only a moderator keeps it open; the pre-join page's panel stays until the call starts.
    if (!may && (this.joined() || s?.state === 'joining')) this.setOpen(false);
  }

  async #create($) {
    const error = $('invite-error');
    error.hidden = true;
    if (!this.joined() && !this.prejoin) return;
    $('invite-create').disabled = true;
    try {
      const inv = await this.#request($('invite-role').value, Number($('invite-expiry').value));
      $('invite-url').value = inv.url;
      $('invite-copy').textContent = t('invite.copy');
      $('invite-expires').textContent = t('invite.expires', { time: formatTime(new Date(inv.expiresAt)), date: new Date(inv.expiresAt).toLocaleDateString(language()) });
      $('invite-result').hidden = false;
    } catch (err) {
      const grant = err.code === 'insufficient_grant' || err.code === 'token_missing';
      error.textContent = t(grant ? 'invite.error.grant' : 'invite.error.other');
      error.hidden = false;
    } finally {
      $('invite-create').disabled = false;
    }
  }
}
