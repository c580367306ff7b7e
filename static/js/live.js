// The page end of the live websocket (protocol: docs/architecture.md, "Browser websocket protocol").
//
// The database is the truth and the socket a hint: a tap publishes an event before its batch
// commits. This module deduplicates events by (session, seq), asks the server for a resync
// when it sees a gap in a session's seqs or a session_info.last_seq above what it has (with
// backoff, until the batch lands), resumes after a reconnect from the last contiguous seq, and
// hands pages only events they have not seen, in frames (the server coalesces busy sessions
// into one frame per ~50-100 ms).

const RESYNC_DELAYS_MS = [300, 1000, 2000, 4000, 6000, 8000];
const SEND_INTERVAL_MS = 70; // stays under the server's 20 messages/s limit
const CLOSE_UNAUTHENTICATED = 4401;

class SessionTrack {
  constructor(contiguous) {
    this.contiguous = contiguous; // every seq ≤ this has been delivered
    this.ahead = new Set(); // delivered seqs > contiguous (there is a gap below them)
    this.expected = 0; // the server announced seqs up to this (live, maybe not stored yet)
    this.resyncTimer = null;
    this.resyncAttempt = 0;
    this.lastActive = Date.now();
  }

  // Record seqs; return the ones not delivered before, in order.
  accept(events) {
    const fresh = [];
    for (const event of events) {
      const seq = Number(event.seq);
      if (seq <= this.contiguous || this.ahead.has(seq)) continue;
      this.ahead.add(seq);
      fresh.push(event);
    }
    while (this.ahead.has(this.contiguous + 1)) {
      this.ahead.delete(this.contiguous + 1);
      this.contiguous += 1;
    }
    this.lastActive = Date.now();
    fresh.sort((a, b) => a.seq - b.seq);
    return fresh;
  }

  get hasGap() {
    return this.ahead.size > 0 || this.expected > this.contiguous;
  }

  // Give up on seqs the database never produced (e.g. rolled back): jump over the gap.
  skipGap() {
    if (!this.ahead.size) {
      this.contiguous = Math.max(this.contiguous, this.expected);
      return;
    }
    const lowest = Math.min(...this.ahead);
    this.contiguous = lowest - 1;
    while (this.ahead.has(this.contiguous + 1)) {
      this.ahead.delete(this.contiguous + 1);
      this.contiguous += 1;
    }
  }
}

export class LiveSocket {
  /**
   * handlers: onEvents(sessionId, events, replay), onState(sessionId, states, sessionInfo),
   * onOutput(sessionId, chunks, gap), onReconnect(), onError(message)
   */
  constructor(handlers = {}) {
    this.handlers = handlers;
    this.tracks = new Map();
    this.wantAll = false;
    this.sessionSubs = new Map(); // sessionId -> { afterOseq: () => number }
    this.queue = [];
    this.lastSend = 0;
    this.pumpTimer = null;
    this.backoff = 500;
    this.socket = null;
    this.everOpened = false;
    this.indicator = document.getElementById("live-indicator");
    const path = document.body.dataset.livePath || "/ws/live/";
    this.url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
  }

  subscribeAll() {
    this.wantAll = true;
    this.send({ action: "subscribe", scope: "all" });
    return this;
  }

  // afterOseq is a function: on a reconnect the page tells how much output it already shows.
  subscribeSession(sessionId, { afterSeq = 0, afterOseq = () => 0 } = {}) {
    this.sessionSubs.set(sessionId, { afterOseq });
    if (!this.tracks.has(sessionId)) this.tracks.set(sessionId, new SessionTrack(afterSeq));
    this.send(this.sessionMessage(sessionId));
    return this;
  }

  sessionMessage(sessionId) {
    return {
      action: "subscribe",
      scope: "session",
      session: sessionId,
      after_seq: this.tracks.get(sessionId).contiguous,
      after_oseq: this.sessionSubs.get(sessionId).afterOseq(),
    };
  }

  connect() {
    this.setIndicator("connecting");
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.backoff = 500;
      this.setIndicator("open");
      if (this.everOpened) this.resubscribe();
      this.everOpened = true;
      this.pump();
    });
    socket.addEventListener("message", (message) => this.receive(message.data));
    socket.addEventListener("close", (close) => {
      this.setIndicator("closed");
      if (close.code === CLOSE_UNAUTHENTICATED) {
        const login = document.body.dataset.loginUrl || "/login/";
        location.assign(`${login}?next=${encodeURIComponent(location.pathname + location.search)}`);
        return;
      }
      setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 10000);
    });
    return this;
  }

  // After a reconnect (or a restarted server): subscribe again and fetch what was missed.
  resubscribe() {
    this.queue = [];
    if (this.wantAll) {
      this.queue.push({ action: "subscribe", scope: "all" });
      // Sessions seen recently may have produced events while the socket was down.
      const recent = [...this.tracks.entries()]
        .filter(([sid]) => !this.sessionSubs.has(sid))
        .sort((a, b) => b[1].lastActive - a[1].lastActive)
        .slice(0, 10);
      for (const [sid, track] of recent) {
        this.queue.push({ action: "resync", session: sid, after_seq: track.contiguous });
      }
    }
    for (const sid of this.sessionSubs.keys()) this.queue.push(this.sessionMessage(sid));
    if (this.handlers.onReconnect) this.handlers.onReconnect();
  }

  send(message) {
    this.queue.push(message);
    this.pump();
  }

  pump() {
    if (this.pumpTimer || !this.socket || this.socket.readyState !== WebSocket.OPEN) return;
    const wait = this.lastSend + SEND_INTERVAL_MS - Date.now();
    if (wait > 0) {
      this.pumpTimer = setTimeout(() => { this.pumpTimer = null; this.pump(); }, wait);
      return;
    }
    const message = this.queue.shift();
    if (!message) return;
    this.socket.send(JSON.stringify(message));
    this.lastSend = Date.now();
    if (this.queue.length) this.pump();
  }

  receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    const sid = frame.session;
    if (frame.type === "events") this.receiveEvents(sid, frame.events || [], Boolean(frame.replay));
    else if (frame.type === "state") {
      const lastSeq = Number(frame.session_info?.last_seq || 0);
      const track = this.tracks.get(sid);
      if (track && lastSeq > track.contiguous) {
        // Announced live before we subscribed, not in the database yet: ask until it is.
        track.expected = Math.max(track.expected, lastSeq);
        this.scheduleResync(sid, track);
      }
      this.handlers.onState?.(sid, frame.states || [], frame.session_info || null);
    }
    else if (frame.type === "output") this.handlers.onOutput?.(sid, frame.chunks || [], frame.gap || null);
    else if (frame.type === "error") {
      console.warn("streamtap live:", frame.message);
      this.handlers.onError?.(frame.message);
    }
  }

  receiveEvents(sid, events, replay) {
    if (!events.length) return;
    let track = this.tracks.get(sid);
    if (!track) {
      // First sight of a session on the all-sessions stream: start from here, not from 0
      // (its history is on the server-rendered page, not worth replaying).
      track = new SessionTrack(Math.min(...events.map((e) => Number(e.seq))) - 1);
      this.tracks.set(sid, track);
    }
    const fresh = track.accept(events);
    if (fresh.length) this.handlers.onEvents?.(sid, fresh, replay);
    if (track.hasGap) this.scheduleResync(sid, track);
    else this.clearResync(track);
  }

  scheduleResync(sid, track) {
    if (track.resyncTimer) return;
    if (track.resyncAttempt >= RESYNC_DELAYS_MS.length) {
      // The database never had those seqs: stop asking and move on.
      track.skipGap();
      this.clearResync(track);
      return;
    }
    const delay = RESYNC_DELAYS_MS[track.resyncAttempt];
    track.resyncTimer = setTimeout(() => {
      track.resyncTimer = null;
      track.resyncAttempt += 1;
      if (track.hasGap) {
        this.send({ action: "resync", session: sid, after_seq: track.contiguous });
        // The tap writes events to the database in batches (up to a few seconds late);
        // look again if the gap is still there.
        this.scheduleResync(sid, track);
      } else {
        this.clearResync(track);
      }
    }, delay);
  }

  clearResync(track) {
    if (track.resyncTimer) clearTimeout(track.resyncTimer);
    track.resyncTimer = null;
    track.resyncAttempt = 0;
  }

  setIndicator(state) {
    if (this.indicator) {
      this.indicator.dataset.state = state;
      this.indicator.title = `Live updates: ${state}`;
    }
  }
}
