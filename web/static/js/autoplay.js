// autoplay.js: playing remote media despite the browser's autoplay policy.
//
// One job: start a media element with sound; if the browser refuses sound
// without a user gesture, play it muted (the picture keeps going) and
// remember it, so one click on "enable audio" can unmute every such element.

const blocked = new Set(); // elements playing muted because sound was refused
const listeners = new Set();

/** Calls fn(isBlocked) whenever the need for an "enable audio" click changes. */
export function onAudioBlocked(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Plays el with sound if allowed, otherwise muted until unlockAudio(). */
export async function playWithSound(el) {
  if (blocked.has(el)) {
    // Still waiting for the user's click: unmuting now would only be refused
    // again (and pause the picture), so keep it playing muted.
    el.play().catch(() => {});
    return;
  }
  el.muted = false;
  try {
    await el.play();
    forget(el);
  } catch (err) {
    if (err.name !== 'NotAllowedError') {
      // AbortError: a new srcObject or load() interrupted play; the next
      // call plays it. Anything else is not ours to fix here.
      if (err.name !== 'AbortError') console.warn('huddle: play failed', err);
      return;
    }
    el.muted = true;
    blocked.add(el);
    notify();
    try {
      await el.play(); // muted playback is always allowed
    } catch {
      // A detached element cannot play; nothing to do.
    }
  }
}

/** Unmutes every blocked element; call from a click handler (user gesture). */
export async function unlockAudio() {
  const els = [...blocked];
  blocked.clear();
  for (const el of els) {
    el.muted = false;
    try {
      await el.play();
    } catch {
      el.muted = true;
      blocked.add(el);
    }
  }
  notify();
}

/** Stops tracking el (its tile went away). */
export function forget(el) {
  if (blocked.delete(el)) notify();
}

function notify() {
  const isBlocked = blocked.size > 0;
  for (const fn of listeners) fn(isBlocked);
}
