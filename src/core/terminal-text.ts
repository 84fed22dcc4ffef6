/**
 * labd's one terminal sanitiser: text from other people (paste bodies, alert summaries, names, Matrix
 * messages) must never drive a terminal or a chat client. It removes whole escape sequences as a
 * terminal would parse them (ECMA-48: ESC sequences, CSI, and the OSC/DCS/SOS/PM/APC strings up to BEL
 * or ST, in their 7-bit and 8-bit C1 forms), every other C0 control but tab and newline, DEL and the C1
 * controls U+0080–U+009F. It works on text that arrives in pieces (a paste streamed to a terminal) as
 * well as on whole strings.
 */
import { StringDecoder } from 'node:string_decoder';

const ESC = 0x1b;
const BEL = 0x07;
const CSI_8BIT = 0x9b;
const ST_8BIT = 0x9c;
/** 8-bit C1 starts of control strings: DCS, SOS, OSC, PM, APC. */
const STRING_8BIT = new Set([0x90, 0x98, 0x9d, 0x9e, 0x9f]);
/** 7-bit finals after ESC that start control strings: P (DCS), X (SOS), ] (OSC), ^ (PM), _ (APC). */
const STRING_7BIT = new Set(['P', 'X', ']', '^', '_'].map((c) => c.charCodeAt(0)));

type State = 'text' | 'esc' | 'escIntermediate' | 'csi' | 'string' | 'stringEsc';

/** A streaming sanitiser: feed text (or bytes) with `push`, then `end`. */
export class TerminalSanitizer {
  private state: State = 'text';
  private readonly decoder = new StringDecoder('utf8');

  /** Sanitised text for this piece; an escape sequence split across pieces is held until it ends. */
  push(piece: string | Buffer): string {
    const text = typeof piece === 'string' ? piece : this.decoder.write(piece);
    let out = '';
    for (const ch of text) {
      const c = ch.codePointAt(0)!;
      if (this.step(c)) out += ch;
    }
    return out;
  }

  /** The rest (an unfinished sequence is dropped). */
  end(): string {
    const rest = this.decoder.end();
    const out = rest ? this.push(rest) : '';
    this.state = 'text';
    return out;
  }

  /** Advances the parser by one code point; true when it is text to keep. */
  private step(c: number): boolean {
    switch (this.state) {
      case 'text':
        return this.text(c);
      case 'esc':
        if (c === 0x5b) this.state = 'csi';
        else if (STRING_7BIT.has(c)) this.state = 'string';
        else if (c >= 0x20 && c <= 0x2f) this.state = 'escIntermediate';
        else if (c === ESC) this.state = 'esc';
        else this.state = 'text'; // a final byte (or a stray control) ends it; either way it is not shown
        return false;
      case 'escIntermediate':
        if (c >= 0x20 && c <= 0x2f) return false;
        this.state = 'text';
        return c >= 0x30 && c <= 0x7e ? false : this.text(c);
      case 'csi':
        if (c >= 0x20 && c <= 0x3f) return false; // parameters and intermediates
        this.state = 'text';
        return c >= 0x40 && c <= 0x7e ? false : this.text(c); // final, else an aborted sequence
      case 'string':
        if (c === BEL || c === ST_8BIT) this.state = 'text';
        else if (c === ESC) this.state = 'stringEsc';
        return false;
      case 'stringEsc':
        if (c === 0x5c) {
          this.state = 'text'; // ESC \ is ST
          return false;
        }
        this.state = 'esc'; // ESC aborts the string and starts a new sequence
        return this.step(c);
    }
  }

  private text(c: number): boolean {
    if (c === ESC) {
      this.state = 'esc';
      return false;
    }
    if (c === CSI_8BIT) {
      this.state = 'csi';
      return false;
    }
    if (STRING_8BIT.has(c)) {
      this.state = 'string';
      return false;
    }
    if (c === 0x09 || c === 0x0a) return true;
    return !(c < 0x20 || (c >= 0x7f && c <= 0x9f));
  }
}

/** Removes escape sequences and control characters (but tab and newline) from a whole string. */
export function stripControl(text: string): string {
  const s = new TerminalSanitizer();
  return s.push(text) + s.end();
}

/**
 * JSON for a terminal: JSON.stringify escapes U+0000–U+001F but leaves DEL and the C1 controls
 * (U+0080–U+009F, e.g. U+009B, an 8-bit CSI) raw; escape them too. Valid JSON, same value.
 */
export function escapeJsonControls(json: string): string {
  return json.replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
