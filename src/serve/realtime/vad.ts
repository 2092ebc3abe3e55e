/**
 * Server-side voice-activity detection for `turn_detection: { type: 'server_vad' }`: an energy
 * detector over 10 ms frames with an onset rule and a hangover.
 *
 * - A frame is voiced when its RMS level in dBFS is above the level the protocol's `threshold`
 *   (0–1) names: `THRESHOLD_FLOOR_DB + threshold · THRESHOLD_SPAN_DB`, so the default 0.5 is −45
 *   dBFS (quiet speech through a laptop microphone peaks around −30; a quiet room sits near −60).
 *   A higher threshold needs louder audio, as the protocol says.
 * - Speech starts after `ONSET_FRAMES` voiced frames in a row (a click or a single loud frame does
 *   not open a turn); it starts at the first of them.
 * - Speech stops once `silenceDurationMs` has passed since the last voiced frame: the protocol's
 *   `audio_end_ms` is that moment (it "includes the silence duration").
 *
 * Positions are sample indices since the detector was made; the session turns them into the
 * protocol's milliseconds and applies `prefix_padding_ms`. Why energy and not a model: the input
 * here is clean speech or silence (espeak-ng, a browser microphone with its noise suppression on);
 * the tests measure its boundaries on synthetic and espeak-ng clips.
 */

const VAD_FRAME_MS = 10;
/** dBFS at threshold 0 and the span up to threshold 1 (−80 … −10 dBFS). */
const THRESHOLD_FLOOR_DB = -80;
const THRESHOLD_SPAN_DB = 70;
/** Voiced frames in a row that open a turn (30 ms). */
const ONSET_FRAMES = 3;

export interface VadOptions {
  sampleRate: number;
  /** 0–1; higher needs louder audio. */
  threshold: number;
  silenceDurationMs: number;
}

export type VadEvent = { type: 'start'; sample: number } | { type: 'stop'; sample: number };

const thresholdDb = (threshold: number) => THRESHOLD_FLOOR_DB + threshold * THRESHOLD_SPAN_DB;

export class EnergyVad {
  private readonly frame: number;
  private readonly minPower: number;
  private readonly silenceSamples: number;
  /** Samples of the frame being filled, and their sum of squares. */
  private filled = 0;
  private energy = 0;
  /** Absolute index of the next sample. */
  private pos = 0;
  private speaking = false;
  /** Voiced frames in a row while not speaking, and where the run began. */
  private run = 0;
  private runStart = 0;
  /** End (absolute sample) of the last voiced frame while speaking. */
  private lastVoiced = 0;

  constructor(readonly o: VadOptions) {
    this.frame = Math.round((o.sampleRate * VAD_FRAME_MS) / 1000);
    // Compare mean power with the threshold's power: no log per frame.
    this.minPower = 10 ** (thresholdDb(o.threshold) / 10);
    this.silenceSamples = Math.round((o.sampleRate * o.silenceDurationMs) / 1000);
  }

  get inSpeech(): boolean {
    return this.speaking;
  }

  /** Feed samples; returns the starts and stops they complete, in order. */
  push(x: ArrayLike<number>): VadEvent[] {
    const events: VadEvent[] = [];
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      this.energy += v * v;
      this.pos++;
      if (++this.filled < this.frame) continue;
      this.endFrame(this.energy / this.frame >= this.minPower, events);
      this.filled = 0;
      this.energy = 0;
    }
    return events;
  }

  private endFrame(voiced: boolean, events: VadEvent[]): void {
    const end = this.pos;
    if (!this.speaking) {
      if (!voiced) {
        this.run = 0;
        return;
      }
      if (this.run++ === 0) this.runStart = end - this.frame;
      if (this.run >= ONSET_FRAMES) {
        this.speaking = true;
        this.lastVoiced = end;
        this.run = 0;
        events.push({ type: 'start', sample: this.runStart });
      }
      return;
    }
    if (voiced) this.lastVoiced = end;
    else if (end - this.lastVoiced >= this.silenceSamples) {
      this.speaking = false;
      events.push({ type: 'stop', sample: end });
    }
  }
}
