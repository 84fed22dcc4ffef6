/**
 * The Node/V8 flags labd runs with, in one place: `npm start` (scripts/start.mjs), the test harness
 * (test/support/labd.ts, so tests run what users run) and bench/rest-memory read them here;
 * deploy/Dockerfile's ENTRYPOINT repeats them literally (test/deploy-manifests.test.ts checks it).
 *
 * --max-semi-space-size=4: Node 24's V8 sizes the young generation from the machine's memory (up to
 *   tens of MB per semi-space on a 24 GiB host), so an idle labd held 155 MB of heap for 25-60 MB used.
 *   4 MiB costs 4 MB at rest over 1 MiB, but 1 MiB tripled the scavenges of 100 pub/sub subscribers
 *   (more GC and CPU than Node's default), while 4 MiB spent less than the default in bench/paste,
 *   bench/pubsub and bench/ssh-connect (bench/README.md, rest-memory). The old generation keeps V8's
 *   limit, which Node derives from the memory (or the container's limit): 10k sessions need room.
 * --initial-old-space-size=64: V8 starts a full mark-compact when the old generation plus external
 *   memory (every Buffer: each chunk git writes to labd, each packet of a bulk transfer) pass a limit
 *   sized from a heap that is small in a compiled labd (35 MB): serving one 51 MB clone ran about five
 *   of them. Starting the old generation's limit at 64 MB halved labd's CPU per clone (0.54 s to
 *   0.22 s in one interleaved run; 128 and 256 did no better) and costs nothing at rest, where the
 *   space is not committed (bench/README.md, git-clone and rest-memory) once start-up's garbage is gone:
 * --expose-gc: for the one full collection labd runs once it listens (src/core/v8-tuning.ts); without it
 *   start-up's 24 MB of garbage stayed until the old generation reached those 64 MB.
 * --disable-warning=DEP0060: matrix-bot-sdk's htmlencode calls util._extend, deprecated on Node 22+;
 *   harmless, and not ours to fix.
 */
export const LABD_NODE_FLAGS = ['--max-semi-space-size=4', '--initial-old-space-size=64', '--expose-gc', '--disable-warning=DEP0060'];
