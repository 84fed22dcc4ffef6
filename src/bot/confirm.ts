/**
 * Confirmation of destructive commands in Matrix: the bot's question carries a short random code;
 * the asker reacts ✅ to the question or sends `PREFIX confirm CODE` within the window.
 */
import { randomInt } from 'node:crypto';
import { html } from '../core/html.ts';
import type { MatrixBody } from './render.ts';

/** Reaction keys that confirm, compared without variation selectors (U+FE0E / U+FE0F). */
export const CONFIRM_REACTION = '✅';
/** Letters and digits that cannot be mistaken for each other (no 0/O, 1/I/L). */
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const CODE_LENGTH = 6;

export function newConfirmCode(): string {
  let code = '';
  for (let i = 0; i < CODE_LENGTH; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}

export function confirmPrompt(command: string, code: string, prefix: string, window: string): MatrixBody {
  return {
    text: `'${command}' is destructive. To run it, react ${CONFIRM_REACTION} to this message or send '${prefix} confirm ${code}' within ${window}.`,
    html: html`<code>${command}</code> is destructive. To run it, react ${CONFIRM_REACTION} to this message or send <code>${prefix} confirm ${code}</code> within ${window}.`
      .value,
  };
}
