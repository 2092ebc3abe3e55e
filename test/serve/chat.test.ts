/** The chat template (chat.ts): the transcript it renders, its stop list and the reply trimming. */
import { describe, expect, it } from 'vitest';
import { CHAT_STOP, chatPrompt, chatReply, chatStops } from '../../src/serve/routes/chat.ts';

describe('chat template', () => {
  it('renders one paragraph per turn and opens the assistant turn', () => {
    const p = chatPrompt([
      { role: 'developer', content: 'Be brief.' },
      { role: 'user', content: 'Sum 1..3?' },
      { role: 'assistant', content: '6' },
      { role: 'user', content: 'And 1..4?' },
    ]);
    expect(p).toBe('System: Be brief.\n\nUser: Sum 1..3?\n\nAssistant: 6\n\nUser: And 1..4?\n\nAssistant:');
  });

  it('adds the turn marker to the stops within the limit of four, never twice', () => {
    expect(chatStops([], 4)).toEqual([CHAT_STOP]);
    expect(chatStops(['a', 'b', 'c'], 4)).toEqual(['a', 'b', 'c', CHAT_STOP]);
    expect(chatStops(['a', 'b', 'c', 'd'], 4)).toEqual(['a', 'b', 'c', 'd']);
    expect(chatStops([CHAT_STOP], 4)).toEqual([CHAT_STOP]);
  });

  it('trims only the leading blanks after the colon', () => {
    expect(chatReply('  \tHello\n world ')).toBe('Hello\n world ');
    expect(chatReply('\nx')).toBe('\nx');
  });
});
