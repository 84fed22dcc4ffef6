/**
 * Forces a full garbage collection in another Node process through its inspector (started with
 * --inspect), so RSS and heap are read without garbage left from earlier connections. Node 20's
 * WebSocket client is behind a flag, so a short helper process speaks to the inspector.
 */
import { spawn } from 'node:child_process';

const HELPER = `
const ws = new WebSocket(process.argv[1]);
const timer = setTimeout(() => { console.error('inspector did not answer'); process.exit(1); }, 20000);
ws.onerror = (e) => { console.error('inspector: ' + (e.message || 'connection failed')); process.exit(1); };
ws.onopen = () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
ws.onmessage = (m) => {
  const msg = JSON.parse(String(m.data));
  if (msg.id !== 1) return;
  clearTimeout(timer);
  if (msg.error) { console.error('inspector: ' + msg.error.message); process.exit(1); }
  ws.close();
  process.exit(0);
};
`;

/** The inspector's WebSocket URL, read from its /json/list on `port`. */
export async function inspectorUrl(port: number): Promise<string> {
  const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { webSocketDebuggerUrl?: string }[];
  const url = list[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target on 127.0.0.1:${port}`);
  return url;
}

export function collectGarbage(wsUrl: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--experimental-websocket', '--no-warnings', '-e', HELPER, wsUrl], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`forcing GC in labd failed: ${err.trim()}`))));
  });
}
