/**
 * The highlighting worker's program, run with `new Worker(source, { eval: true })`: plain CommonJS,
 * so it runs the same under tsx, vitest and the compiled dist (a worker file would need a loader
 * or a build step). highlight.js is loaded here only, never on the main thread.
 * Says { ready: true } once highlight.js is loaded. In: { id, text, language }. Out: { id, html } with highlight.js's markup (it escapes the text it
 * emits), or html: null when the language is unknown or highlighting threw.
 */
export const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const hljs = require(workerData.highlightJs);
parentPort.postMessage({ ready: true });
parentPort.on('message', ({ id, text, language }) => {
  let html = null;
  try {
    if (hljs.getLanguage(language)) html = hljs.highlight(text, { language, ignoreIllegals: true }).value;
  } catch {
    html = null;
  }
  parentPort.postMessage({ id, html });
});
`;
