// peer.js: one RTCPeerConnection with trickle ICE both ways.
//
// One job: the plumbing both PCs share. It sends our candidates as
// `ice_candidate` with the PC's `target`, holds the server's candidates until
// a remote description exists (addIceCandidate fails before that), and runs
// negotiation steps one at a time so a candidate never races an SDP.

export class Peer {
  /**
   * @param {'publish'|'subscribe'} target  the name the protocol uses for this PC
   * @param {RTCConfiguration} config
   * @param {import('./signaling.js').Signaling} signaling
   */
  constructor(target, config, signaling) {
    this.target = target;
    this.signaling = signaling;
    this.pc = new RTCPeerConnection(config);
    this.queued = []; // server candidates that arrived before a remote description
    this.chain = Promise.resolve(); // serialises SDP steps and candidate adds
    this.onFailed = null; // called once if ICE or DTLS fails

    this.pc.onicecandidate = (ev) => {
      // A null candidate marks the end of gathering; the protocol ignores
      // empty candidates, so there is nothing to send.
      if (!ev.candidate || !ev.candidate.candidate) return;
      this.signaling.send('ice_candidate', { target, candidate: ev.candidate.toJSON() });
    };
    this.pc.onconnectionstatechange = () => {
      if (this.pc.connectionState === 'failed' && this.onFailed) {
        const fn = this.onFailed;
        this.onFailed = null;
        fn();
      }
    };
  }

  /** Runs fn after every step queued before it; resolves or rejects with fn's result. */
  run(fn) {
    const result = this.chain.then(fn);
    // Keep the chain alive after a failure; the caller sees the rejection.
    this.chain = result.catch(() => {});
    return result;
  }

  /** Applies a candidate from the server now, or once a remote description exists. */
  addRemoteCandidate(init) {
    if (!init || !init.candidate) return; // end-of-candidates marker: nothing to do
    this.run(async () => {
      if (!this.pc.remoteDescription) {
        this.queued.push(init);
        return;
      }
      await this.#add(init);
    });
  }

  /** Sets the remote description and then applies the candidates held for it. */
  async setRemote(desc) {
    await this.pc.setRemoteDescription(desc);
    const held = this.queued;
    this.queued = [];
    for (const init of held) await this.#add(init);
  }

  close() {
    this.onFailed = null;
    this.pc.onicecandidate = null;
    this.pc.onconnectionstatechange = null;
    this.pc.ontrack = null;
    this.pc.close();
  }

  async #add(init) {
    try {
      await this.pc.addIceCandidate(init);
    } catch (err) {
      // A candidate for an m-line that a later offer removed is harmless;
      // log it for debugging instead of failing the negotiation.
      console.warn(`huddle: ${this.target} candidate rejected`, err);
    }
  }
}
