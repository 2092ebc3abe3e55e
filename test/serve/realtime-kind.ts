/**
 * TEST FIXTURE — a registry row (TONY_MODEL_KINDS) whose checkpoints load as the OmniModel test
 * double (realtime-double.ts): how `tony serve --model <dir>` is tested on a 'realtime' model
 * before the real omni kind exists on this branch. A directory whose config.json says
 * `{"kind": "omni-double"}` is such a model.
 */
import { TonyError } from '../../src/errors.ts';
import type { ModelKind } from '../../src/models/index.ts';
import { OmniDouble } from './realtime-double.ts';

const omniDoubleKind: ModelKind = {
  name: 'omni-double',
  kind: 'omni-double',
  summary: 'the realtime server tests’ OmniModel double (test fixture)',
  capabilities: ['realtime'],
  config: () => ({}),
  task: () => {
    throw new TonyError('usage', 'the omni double is not trainable');
  },
  load: async () => new OmniDouble(),
};

export const kinds = [omniDoubleKind];
