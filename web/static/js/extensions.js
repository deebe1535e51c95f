// extensions.js: where features plug into every session.
//
// One job: let feature modules (lobby, classroom controls, chat, ...) receive
// the server messages that Session does not interpret itself, and learn about
// each new Session, without editing session.js or the reconnect logic. A
// feature registers once at start; the registrations then apply to the first
// join and to every automatic reconnect (a reconnect is a new Session), so a
// feature never has to re-register.
//
// Usage (in app.js, once):
//   extensions.message('chat', (data, session) => chat.add(data));
//   extensions.session((session) => session.addEventListener('room-state', ...));

export class Extensions {
  constructor() {
    this.handlers = new Map(); // message type -> Set<fn(data, session, envelope)>
    this.sessionHooks = new Set(); // fn(session)
  }

  /**
   * Calls fn(data, session, envelope) for every server message of type,
   * in every session. Handlers run after Session's own handling of that type
   * (if any). Returns a function that unregisters it.
   */
  message(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type)?.delete(fn);
  }

  /**
   * Calls fn(session) for every new Session, before it joins (so its events
   * can be listened to from the start). Returns a function that unregisters it.
   */
  session(fn) {
    this.sessionHooks.add(fn);
    return () => this.sessionHooks.delete(fn);
  }

  /** Wires the registered handlers to a new session's signalling. Called by Session. */
  attach(signaling, session) {
    for (const [type, fns] of this.handlers) {
      signaling.on(type, (data, env) => {
        for (const fn of fns) {
          try {
            fn(data, session, env);
          } catch (err) {
            // One feature's fault must not silence the others.
            console.error(`huddle: extension handler for ${type} failed`, err);
          }
        }
      });
    }
  }

  /** Tells the session hooks about a new session. Called by Session's creator. */
  announce(session) {
    for (const fn of this.sessionHooks) {
      try {
        fn(session);
      } catch (err) {
        console.error('huddle: a session hook failed', err);
      }
    }
  }
}
