// reconnect.js: getting back into the call after the connection dropped.
//
// One job: the retry policy of issue 7's contract ("Reconnect"). When the
// socket closes unexpectedly (a server restart closes it with 1001/1012, a
// network blip, a lost node) or a PeerConnection fails, it retries with
// backoff: 0.5 s, 1 s, 2 s, then every 3 s, and gives up after 2 minutes.
// Each try is the caller's `attempt` (join again with the same token and
// name, republish, wait for media); a try that fails with a terminal error
// code (the server does not want us back: removed, banned, an expired
// token, ...) stops at once. It keeps the counts tests read and reports its
// state through one callback; the banner and the call itself are the
// caller's.

/** Delays before the first tries; every later try waits the last one. */
const BACKOFF_MS = Object.freeze([500, 1000, 2000, 3000]);
/** How long to keep trying before telling the user the connection is lost. */
const GIVE_UP_MS = 120_000;

/**
 * Error codes after which the client must not reconnect (contract: removed,
 * banned, room_closed, lobby_declined, token_* codes, room_locked,
 * room_full). Joining again would be refused, or would undo a moderator's
 * decision.
 */
const TERMINAL_CODES = new Set(['removed', 'banned', 'room_closed', 'lobby_declined', 'room_locked', 'room_full', 'unsupported_version']);

/** Whether an error code means "do not come back" (see TERMINAL_CODES). */
export function isTerminal(code) {
  return typeof code === 'string' && (TERMINAL_CODES.has(code) || code.startsWith('token_'));
}

export class Reconnector {
  /**
   * @param {{attempt(): Promise<void>, onState(state: string, info: object): void}} hooks
   *   attempt: one try; resolves once back in the call with media flowing,
   *            rejects with an error whose `code` says why (terminal or not).
   *   onState: 'reconnecting' (a cycle started or a try failed; info.attempts,
   *            info.nextInMs), 'connected' (a try succeeded; info.tookMs),
   *            'gave-up' (info.error), 'refused' (a terminal error; info.error).
   */
  constructor({ attempt, onState }) {
    this.attempt = attempt;
    this.onState = onState;
    this.giveUpMs = GIVE_UP_MS;
    this.active = false;
    this.startedAt = 0;
    this.tries = 0; // tries in the current cycle
    this.timer = 0;
    this.generation = 0; // bumped by cancel(), so a try in flight cannot report
    this.reconnects = 0; // cycles that ended back in the call
    this.totalTries = 0; // every try ever made
    this.lastTookMs = null; // connection lost -> back in the call, of the last cycle
  }

  /** Starts a cycle (no-op while one runs). reason is logged. */
  start(reason) {
    if (this.active) return;
    console.warn(`huddle: connection lost (${reason}); reconnecting`);
    this.active = true;
    this.startedAt = performance.now();
    this.tries = 0;
    this.#schedule();
  }

  /** Stops trying (the user left). A try in flight is ignored when it ends. */
  cancel() {
    this.generation++;
    this.active = false;
    clearTimeout(this.timer);
    this.timer = 0;
  }

  #schedule() {
    const delay = BACKOFF_MS[Math.min(this.tries, BACKOFF_MS.length - 1)];
    this.onState('reconnecting', { attempts: this.tries, nextInMs: delay });
    this.timer = setTimeout(() => this.#try(), delay);
  }

  async #try() {
    this.timer = 0;
    const gen = this.generation;
    this.tries++;
    this.totalTries++;
    try {
      await this.attempt();
      if (gen !== this.generation) return;
      this.active = false;
      this.reconnects++;
      this.lastTookMs = Math.round(performance.now() - this.startedAt);
      this.onState('connected', { tookMs: this.lastTookMs, attempts: this.tries });
    } catch (err) {
      if (gen !== this.generation) return;
      if (isTerminal(err && err.code)) {
        this.active = false;
        this.onState('refused', { error: err });
        return;
      }
      console.warn(`huddle: reconnect attempt ${this.tries} failed: ${(err && err.message) || err}`);
      if (performance.now() - this.startedAt >= this.giveUpMs) {
        this.active = false;
        this.onState('gave-up', { error: err });
        return;
      }
      this.#schedule();
    }
  }
}
