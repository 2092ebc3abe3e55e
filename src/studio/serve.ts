/**
 * `serveStudio(options)`: Tony Studio on the server core — the app and its JSON routes
 * (routes/studio.ts), audio (routes/audio.ts), 3D (routes/shapes.ts) and, when a text model is
 * given, the OpenAI routes with the playground at /playground (routes/completions.ts). What
 * `tony studio` and `npm start` run.
 *
 *   const studio = await serveStudio({ model, runsDir: 'runs', port: 0 });
 *   console.log(studio.url);   // open it in a browser
 *   await studio.close();
 */
import { type Capability, type LoadedModel, modelKinds } from '../models/index.ts';
import { BUNDLED_JUKEBOX } from '../models/jukebox/bundled.ts';
import type { OmniModel } from '../models/omni/contract.ts';
import { createServer, SERVER_DEFAULTS } from '../serve/core/server.ts';
import type { VoiceGuard } from '../serve/realtime/session.ts';
import { audioRoutes, type Vocoder } from '../serve/routes/audio.ts';
import { COMPLETIONS_DEFAULTS, completionRoutes, type ServedModel } from '../serve/routes/completions.ts';
import { jukeboxRoutes } from '../serve/routes/jukebox.ts';
import { mathRoutes } from '../serve/routes/math.ts';
import { realtimeRoutes } from '../serve/routes/realtime.ts';
import { shapeERoutes } from '../serve/routes/shape-e.ts';
import { pointeRoutes, shapeRoutes } from '../serve/routes/shapes.ts';
import { type StudioInfo, studioRoutes } from '../serve/routes/studio.ts';
import { studioBundle } from './build.ts';

/** Where the playground goes when the studio holds `/`. */
export const PLAYGROUND_PATH = '/playground';

export interface StudioOptions {
  host?: string;
  port?: number;
  apiKey?: string;
  /** Runs, Evals and Scaling read this folder. */
  runsDir?: string;
  /** HumanEval(-infilling) problems: the Evals page shows each result's whole program and its test. */
  problems?: string;
  /** A text model: the Code page and the OpenAI routes. */
  model?: { model: ServedModel & LoadedModel; dir: string };
  /** An audio corpus folder (manifest.jsonl, LJSpeech, LibriSpeech or WAVs): the Audio page plays it. */
  audioDir?: string;
  /** A model with capability 'vocode': the Audio page offers it beside Griffin-Lim. */
  vocoder?: { model: Vocoder & LoadedModel; dir: string };
  /** A model with capability 'realtime' (omni): the Voice page and /v1/realtime, its output checked by `guard`. */
  realtime?: { model: OmniModel; dir: string; guard?: VoiceGuard };
  /** The Jukebox page's bundled chain (default: models/jukebox; false: none, only the runs folder's). */
  jukebox?: string | false;
  log?: (line: string) => void;
}

export interface StudioHandle {
  readonly url: string;
  readonly info: StudioInfo;
  close(): Promise<void>;
}

export async function serveStudio(o: StudioOptions = {}): Promise<StudioHandle> {
  const card = (m: LoadedModel, dir: string, role: string) => ({
    id: m.id,
    kind: m.kind,
    capabilities: m.capabilities as readonly Capability[],
    provider: m.provider,
    dir,
    role,
  });
  const info: StudioInfo = {
    kinds: (await modelKinds()).map((k) => ({ name: k.name, kind: k.kind, summary: k.summary, capabilities: k.capabilities })),
    models: [
      ...(o.model ? [card(o.model.model, o.model.dir, 'text: the Code page and /v1')] : []),
      ...(o.vocoder ? [card(o.vocoder.model, o.vocoder.dir, 'vocoder: the Audio page')] : []),
      ...(o.realtime ? [card(o.realtime.model, o.realtime.dir, 'voice: the Voice page and /v1/realtime')] : []),
    ],
    runsDir: o.runsDir,
    audioDir: o.audioDir,
  };
  // Build the web app before listening: a page that does not compile stops the start, naming it.
  await studioBundle();
  const server = createServer({
    host: o.host ?? SERVER_DEFAULTS.host,
    port: o.port ?? SERVER_DEFAULTS.port,
    apiKey: o.apiKey ?? '',
    ...(o.log ? { log: o.log } : {}),
  });
  server.mount(studioRoutes(info, { ...(o.model ? { modelDir: o.model.dir } : {}), ...(o.problems ? { problems: o.problems } : {}) }));
  server.mount(audioRoutes({ ...(o.vocoder ? { vocoder: o.vocoder.model } : {}), ...(o.audioDir ? { corpusDir: o.audioDir } : {}) }));
  server.mount(shapeRoutes());
  server.mount(pointeRoutes(o.runsDir ? { runsDir: o.runsDir } : {})); // the Point-E page: base models from the runs folder
  server.mount(shapeERoutes()); // the Shap-E page, over the bundled models/shape-e
  const jukebox = o.jukebox ?? BUNDLED_JUKEBOX;
  server.mount(jukeboxRoutes({ ...(jukebox ? { bundled: jukebox } : {}), ...(o.runsDir ? { runsDir: o.runsDir } : {}) })); // the Jukebox page: the bundled chain and model directories from the runs folder
  server.mount(mathRoutes()); // the Math page, over the bundled models/math
  if (o.model) server.mount(completionRoutes(o.model.model, COMPLETIONS_DEFAULTS, { playgroundPath: PLAYGROUND_PATH }));
  if (o.realtime) server.mount(realtimeRoutes(o.realtime.model, o.realtime.guard ? { guard: o.realtime.guard } : {})); // the Voice page
  const url = await server.listen();
  return { url, info, close: () => server.close() };
}
