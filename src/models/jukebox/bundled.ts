/**
 * The bundled Jukebox chain (models/jukebox; docs/results/jukebox.md, "session 10", made and judged it):
 * the three VQ-VAE levels and the three priors, float16, and the temperatures it was judged at. The CLI
 * and the studio use these unless told otherwise.
 */
import { fileURLToPath } from 'node:url';

export const BUNDLED_JUKEBOX = fileURLToPath(new URL('../../../models/jukebox', import.meta.url));
/** The top prior's temperature, chosen on exploration seeds before the bundling test. */
export const TOP_TEMPERATURE = 1;
/** The upsamplers' temperature: below 1 they keep more of the upper levels' notes (session 7 chose it). */
export const UPSAMPLER_TEMPERATURE = 0.2;
