/** A bare HTTP client for CardDAV requests in tests: any method, Basic auth, the whole answer as text. */
import { request } from 'node:http';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request to labd on 127.0.0.1:`port`; a server that answers early (413) while the body is still going out is fine. */
export function dav(
  port: number,
  method: string,
  path: string,
  o: { auth?: string; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...o.headers };
    if (o.auth) headers.authorization = `Basic ${Buffer.from(o.auth).toString('base64')}`;
    if (o.body !== undefined) headers['content-length'] = Buffer.byteLength(o.body);
    let answered = false;
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    req.end(o.body);
  });
}
