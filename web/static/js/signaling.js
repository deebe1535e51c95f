// signaling.js: the WebSocket to the server (signaling/PROTOCOL.md).
//
// One job: carry envelopes {type, id, data}. It numbers requests, matches
// replies and `error`s to them by id, and hands every other message to the
// listeners of its type. It knows nothing about rooms or PeerConnections.

/** URL of the signalling endpoint on the host that served this page. */
export function defaultURL() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/ws`;
}

/** Ids of advisory messages (see notify) start with this; request ids are plain numbers. */
const ADVISORY_PREFIX = 'a';

export class SignalingError extends Error {
  constructor(code, message) {
    super(message || code);
    this.name = 'SignalingError';
    this.code = code;
  }
}

export class Signaling {
  constructor(url = defaultURL()) {
    this.url = url;
    this.ws = null;
    this.nextId = 1;
    this.pending = new Map(); // id -> {resolve, reject, replyType}
    this.handlers = new Map(); // type -> Set<fn(data, envelope)>
    this.closeHandlers = new Set();
    // Set before a close we asked for (leave), so listeners can tell a
    // deliberate end from a lost connection.
    this.closing = false;
  }

  /** Opens the socket; resolves when it is open, rejects if it cannot. */
  connect() {
    return new Promise((resolve, reject) => {
      let opened = false;
      const ws = new WebSocket(this.url);
      this.ws = ws;
      ws.onopen = () => { opened = true; resolve(); };
      ws.onmessage = (ev) => this.#receive(ev.data);
      ws.onclose = (ev) => {
        const info = { code: ev.code, reason: ev.reason, expected: this.closing };
        this.#failPending(new SignalingError('closed', 'the connection closed'));
        if (!opened) {
          reject(new SignalingError('connect_failed', 'could not reach the server'));
          return;
        }
        for (const fn of this.closeHandlers) fn(info);
      };
      // An error is always followed by close, which does the reporting.
      ws.onerror = () => {};
    });
  }

  /** Registers fn(data, envelope) for messages of one type; returns an unsubscribe function. */
  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type)?.delete(fn);
  }

  /** Registers fn({code, reason, expected}) for when the socket closes after having opened. */
  onClose(fn) {
    this.closeHandlers.add(fn);
    return () => this.closeHandlers.delete(fn);
  }

  /** Sends a message without waiting for anything. Returns false if the socket is not open. */
  send(type, data, id) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    const env = { type };
    if (id !== undefined) env.id = id;
    if (data !== undefined) env.data = data;
    this.ws.send(JSON.stringify(env));
    return true;
  }

  /**
   * Sends an advisory message (e.g. `track_settings`): one that has no
   * reply and whose failure the user need not hear about. It carries an id
   * of its own kind, so an `error` it causes (an older server that does not
   * know the type, a track that has just gone) is logged instead of reaching
   * the `error` listeners that show banners.
   */
  notify(type, data) {
    return this.send(type, data, `${ADVISORY_PREFIX}${this.nextId++}`);
  }

  /**
   * Sends a message with a fresh id and resolves with the data of the reply
   * of type replyType carrying that id; rejects with a SignalingError if the
   * server answers with an `error` for that id or the socket closes.
   */
  request(type, data, replyType) {
    const id = String(this.nextId++);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, replyType });
      if (!this.send(type, data, id)) {
        this.pending.delete(id);
        reject(new SignalingError('closed', 'not connected'));
      }
    });
  }

  /** Closes the socket on purpose (listeners see expected: true). */
  close() {
    this.closing = true;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000, 'bye');
  }

  #receive(text) {
    let env;
    try {
      env = JSON.parse(text);
    } catch {
      return; // The server only sends JSON; ignore anything else rather than crash.
    }
    if (!env || typeof env.type !== 'string') return;
    const data = env.data ?? {};

    if (env.type === 'error' && typeof env.id === 'string' && env.id.startsWith(ADVISORY_PREFIX)) {
      console.warn(`huddle: advisory message ${env.id} refused: ${data.code}: ${data.message}`);
      return;
    }

    // Replies to our requests go to whoever is awaiting them, not to listeners,
    // so an error caused by a request is reported once.
    if (env.id !== undefined && this.pending.has(env.id)) {
      const p = this.pending.get(env.id);
      if (env.type === 'error') {
        this.pending.delete(env.id);
        p.reject(new SignalingError(data.code, data.message));
        return;
      }
      if (env.type === p.replyType) {
        this.pending.delete(env.id);
        // Listeners of the reply type still run below: some replies
        // (joined) also carry state that other modules track.
        p.resolve(data);
      }
    }

    const set = this.handlers.get(env.type);
    if (!set) return;
    for (const fn of set) {
      try {
        fn(data, env);
      } catch (err) {
        // One faulty handler must not stop the others or the socket.
        console.error(`huddle: handler for ${env.type} failed`, err);
      }
    }
  }

  #failPending(err) {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
