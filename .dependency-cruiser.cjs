// House rules on imports (design §3), checked by dependency-cruiser in `npm run lint`.
// Each vendor SDK is confined to its adapter; the operations layer reaches no front-end, not even
// through another module; there are no import circles. Type-only imports count too: a type from a
// front-end in ops is a dependency on that front-end.

/** A vendor package (or node built-in) and the only places allowed to import it. */
const confined = [
  { pkg: '^@kubernetes/client-node', homes: '^src/ops/kube/' },
  { pkg: '^(matrix-bot-sdk|@matrix-org/matrix-sdk-crypto-nodejs)', homes: '^src/bot/' },
  { pkg: '^ssh2', homes: '^src/ssh/' },
  { pkg: '^@nats-io', homes: '^src/(apps/pubsub/nats-peers|ops/changes/nats|ops/nats/connection)\\.ts$' },
  { pkg: '^openid-client', homes: '^src/ops/oidc/openid-client\\.ts$' },
  { pkg: '^blessed', homes: '^src/(ssh/tui/|apps/[^/]+/tui)' },
  // The engines live behind the stores' ports: only src/db and the store implementations (sql-*.ts) query them.
  { pkg: '^(drizzle-orm|better-sqlite3|pg|@electric-sql/pglite)', homes: '^src/(db/|.+/sql-[^/]*\\.ts$)' },
  { pkg: '^(node:)?https?$', homes: '^src/(http/|ops/(kube|alertmanager|stepca)/|ops/alerts/apprise)' },
];

const FRONT_ENDS = '^src/(ssh|bot|http)/';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle: modules must not import their caller.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...confined.map(({ pkg, homes }) => ({
      name: `confined:${pkg}`,
      severity: 'error',
      comment: `${pkg} is imported only by its adapter (${homes})`,
      from: { path: '^src/', pathNot: homes },
      to: { path: `(^|node_modules/)${pkg.slice(1)}(/|$)`, dependencyTypesNot: ['local'] },
    })),
    {
      name: 'ops-reaches-no-front-end',
      severity: 'error',
      comment: 'The operations layer never depends on a front-end, directly or through another module.',
      from: { path: '^src/ops/' },
      to: { path: FRONT_ENDS, reachable: true },
    },
    {
      name: 'front-ends-stay-apart',
      severity: 'error',
      comment: 'One front-end never imports another (SSH, Matrix, HTTP).',
      from: { path: '^src/(ssh|bot|http)/' },
      to: { path: FRONT_ENDS, pathNot: '^src/$1/' },
    },
    {
      name: 'engines-behind-ports',
      severity: 'error',
      comment:
        'Ports, commands, services and front-ends never import src/db (schemas, engines): only the store implementations (sql-*.ts), the composition root and the CLI do.',
      from: { path: '^src/', pathNot: '^src/(db/|app\\.ts$|cli\\.ts$|.+/sql-[^/]*\\.ts$)' },
      to: { path: '^src/db/' },
    },
    {
      name: 'no-path-to-an-engine',
      severity: 'error',
      comment: 'No port, command, service or front-end reaches drizzle, better-sqlite3 or pg, even through another module.',
      from: { path: '^src/(ops|apps|bot|ssh|http|core)/', pathNot: '/sql-[^/]*\\.ts$' },
      to: { path: '(^|node_modules/)(drizzle-orm|better-sqlite3|pg|@electric-sql/pglite)(/|$)', reachable: true },
    },
    {
      name: 'env-only-in-config',
      severity: 'error',
      comment: 'Only src/config reads the environment (checked by scripts/lint.mjs; this rule keeps dotenv-like packages out).',
      from: { path: '^src/', pathNot: '^src/config/' },
      to: { path: '^dotenv' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
