/**
 * A clip player for the audio pages (Audio, Jukebox): its spectrogram, a Play button that decodes
 * the WAV with Web Audio and plays it through an analyser whose peak a level meter shows (and the
 * box's data-peak records, for tests), and a download link.
 */
import { el } from './page.ts';

export interface Clip {
  wav: string;
  spectrogram: string;
}

let ctx: AudioContext | undefined;

/** A player: Play decodes the WAV with Web Audio and plays it through an analyser whose peak the meter shows. */
export function player(name: string, clip: Clip): HTMLElement {
  const meter = el(
    'div',
    { class: 'meter', role: 'meter', 'aria-label': `${name} level`, 'aria-valuemin': '0', 'aria-valuemax': '1', 'aria-valuenow': '0' },
    el('div'),
  );
  const play = el('button', { class: 'primary', text: `Play ${name}` });
  const box = el(
    'div',
    { class: 'player', 'data-player': name },
    el('img', { class: 'spec', alt: `spectrogram of ${name}`, src: `data:image/png;base64,${clip.spectrogram}` }),
    el(
      'div',
      { class: 'row' },
      play,
      meter,
      el('a', { href: `data:audio/wav;base64,${clip.wav}`, download: `${name}.wav`, text: 'download WAV' }),
    ),
  );
  play.addEventListener('click', async () => {
    ctx ??= new AudioContext();
    await ctx.resume();
    const bytes = Uint8Array.from(atob(clip.wav), (c) => c.charCodeAt(0));
    const buffer = await ctx.decodeAudioData(bytes.buffer);
    const src = ctx.createBufferSource();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    src.buffer = buffer;
    src.connect(analyser).connect(ctx.destination);
    const frame = new Float32Array(analyser.fftSize);
    let peak = 0;
    let playing = true;
    src.onended = () => {
      playing = false;
      box.dataset.played = 'true';
      play.disabled = false;
    };
    play.disabled = true;
    box.dataset.played = 'false';
    src.start();
    const tick = () => {
      analyser.getFloatTimeDomainData(frame);
      let now = 0;
      for (const v of frame) now = Math.max(now, Math.abs(v));
      peak = Math.max(peak, now);
      // What Web Audio measured while playing: tests read the peak, people watch the bar.
      box.dataset.peak = String(peak);
      meter.setAttribute('aria-valuenow', now.toFixed(3));
      (meter.firstChild as HTMLElement).style.width = `${Math.min(100, now * 100)}%`;
      if (playing) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  return box;
}
