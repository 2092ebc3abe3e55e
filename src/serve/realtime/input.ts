/**
 * The input audio buffer: PCM at the protocol's 24 kHz in, resampled to the model's rate as it is
 * appended (StreamResampler), so committing a turn costs only the resampler's short tail.
 *
 * Positions are absolute 24 kHz sample indices since the session began — what the protocol's
 * `audio_start_ms` / `audio_end_ms` count. The buffer holds [start, end); `take(from)` returns the
 * model-rate audio of [from, end) and empties the buffer, which then starts at `end`.
 */
import { PROTOCOL_RATE, StreamResampler } from './pcm16.ts';

export class InputBuffer {
  /** Absolute index of the buffer's first 24 kHz sample, and of the next one to arrive. */
  start = 0;
  end = 0;
  private resampler: StreamResampler;
  /** Model-rate samples, in order; `dropped` of them were released from the front. */
  private chunks: Float32Array[] = [];
  private held = 0;
  private dropped = 0;

  constructor(readonly modelRate: number) {
    this.resampler = new StreamResampler(PROTOCOL_RATE, modelRate);
  }

  /** 24 kHz samples held. */
  get length(): number {
    return this.end - this.start;
  }

  append(x: Float32Array): void {
    this.end += x.length;
    const y = this.resampler.push(x);
    if (y.length) {
      this.chunks.push(y);
      this.held += y.length;
    }
  }

  /** Model-rate audio of [from, end) (from clamped into the buffer); the buffer then starts at end. */
  take(from: number): Float32Array {
    const tail = this.resampler.flush();
    if (tail.length) {
      this.chunks.push(tail);
      this.held += tail.length;
    }
    const skip = Math.max(0, this.toModel(Math.max(from, this.start)) - this.dropped);
    const all = new Float32Array(this.held);
    let o = 0;
    for (const c of this.chunks) {
      all.set(c, o);
      o += c.length;
    }
    this.reset();
    return all.slice(Math.min(skip, all.length));
  }

  /** Empty the buffer (input_audio_buffer.clear). */
  clear(): void {
    this.reset();
  }

  /**
   * Release whole chunks that end before `before` (while the VAD hears no speech only the last
   * prefix-padding's worth can still join a turn): memory stays bounded however long a client
   * streams silence.
   */
  release(before: number): void {
    const limit = this.toModel(before);
    while (this.chunks.length > 1 && this.dropped + this.chunks[0]!.length <= limit) {
      const c = this.chunks.shift()!;
      this.dropped += c.length;
      this.held -= c.length;
    }
  }

  /** Model-rate index (counted from the buffer's start) of absolute 24 kHz index `a`. */
  private toModel(a: number): number {
    return Math.round(((a - this.start) * this.modelRate) / PROTOCOL_RATE);
  }

  private reset(): void {
    this.start = this.end;
    this.resampler = new StreamResampler(PROTOCOL_RATE, this.modelRate);
    this.chunks = [];
    this.held = 0;
    this.dropped = 0;
  }
}
