/** What long-running library functions report through their `onProgress` callbacks; the CLI draws it. */
export interface Progress {
  done: number;
  total: number;
  /** Work done before this process began (a resumed run's first step): rate and ETA count from it. */
  from?: number;
  /** Extra fields shown after the bar, e.g. { loss: '2.31', 'tok/s': '21k' }. */
  info?: Record<string, string>;
}
