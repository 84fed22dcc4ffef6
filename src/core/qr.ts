/** A QR code as terminal text, two modules per character cell with half blocks, for a phone's camera. */
import { createRequire } from 'node:module';
import type QRCodeModule from 'qrcode';

/** qrcode (with pngjs) loads when the first code is drawn (a seat, an OIDC login), not at start. */
let qrcode: typeof QRCodeModule | undefined;
const loadQrcode = () => (qrcode ??= createRequire(import.meta.url)('qrcode') as typeof QRCodeModule);

const QUIET = 2;

/** The modules of a QR code (error correction L): its size and whether (x, y) is dark (outside: light). */
export function qrModules(text: string): { size: number; dark: (x: number, y: number) => boolean } {
  const { modules } = loadQrcode().create(text, { errorCorrectionLevel: 'L' });
  const size = modules.size;
  return { size, dark: (x, y) => x >= 0 && y >= 0 && x < size && y < size && !!modules.get(y, x) };
}

/**
 * Light modules are drawn (terminals are mostly light text on dark), dark ones left blank, so the code
 * reads right on a dark terminal; the quiet zone is light too.
 */
export function qrText(text: string): string {
  const { size, dark } = qrModules(text);
  const lines: string[] = [];
  for (let y = -QUIET; y < size + QUIET; y += 2) {
    let line = '';
    for (let x = -QUIET; x < size + QUIET; x++) {
      const top = !dark(x, y);
      const bottom = y + 1 < size + QUIET && !dark(x, y + 1);
      line += top && bottom ? '█' : top ? '▀' : bottom ? '▄' : ' ';
    }
    lines.push(line);
  }
  return lines.join('\n') + '\n';
}
