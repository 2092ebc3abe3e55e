/**
 * Chat messages → one completion prompt. Tony's models are plain (base) language models with no chat
 * tuning and no special chat tokens, so the template is a transcript any text model has seen in
 * its data, with one turn per paragraph:
 *
 *   System: You write Python.
 *
 *   User: Reverse a list.
 *
 *   Assistant:
 *
 * `developer` messages (OpenAI's newer name for system) render as `System`. The model continues
 * after `Assistant:`; generation stops at the next `\nUser:` (CHAT_STOP), which the returned text
 * excludes. Leading whitespace of the reply is trimmed (the template leaves no space after the
 * colon so that the model's own first token carries it).
 */

export type ChatRole = 'system' | 'developer' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** Printed name of each role in the transcript. */
const ROLE_LABEL: Record<ChatRole, string> = {
  system: 'System',
  developer: 'System',
  user: 'User',
  assistant: 'Assistant',
};

/** Where the model's turn ends: it started to write the user's next turn. */
export const CHAT_STOP = '\nUser:';

/** The transcript prompt for `messages`, ending with the assistant's open turn. */
export function chatPrompt(messages: readonly ChatMessage[]): string {
  const turns = messages.map((m) => `${ROLE_LABEL[m.role]}: ${m.content}\n\n`);
  return `${turns.join('')}${ROLE_LABEL.assistant}:`;
}

/**
 * The stop list for a chat request: the caller's stops plus CHAT_STOP, within the API's limit of
 * `maxStops`. With the limit already reached by the caller, their stops win and CHAT_STOP is left
 * out (the reply then runs to max_tokens or end-of-text unless one of their stops hits).
 */
export function chatStops(userStops: readonly string[], maxStops: number): string[] {
  if (userStops.includes(CHAT_STOP) || userStops.length >= maxStops) return [...userStops];
  return [...userStops, CHAT_STOP];
}

/** The reply as the chat API returns it: the template puts the model right after a colon. */
export function chatReply(text: string): string {
  return text.replace(/^[ \t]+/, '');
}
